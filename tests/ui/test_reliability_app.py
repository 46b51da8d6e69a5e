"""Issue 13 through the served app's HTTP API: uploads (defect 6), queries with lone surrogates
(defect 3), the API docs and the Host header (defect 7), and "busy, retry" past saturation.
Encoder: test-hash (tests/kit/reliability_kit); the app, Gradio, FAISS and SQLite are real."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ui.settings import load_settings
from tests.conftest import FAKE_EMBEDDER_ENV
from tests.kit.reliability_kit import TOPICS, call, doc_text, search_html, serve, thb, upload, write_corpus


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One served app over a two-document index; (settings, url)."""
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("app-home")
        mp.setenv("THB_HOME", str(home))
        for key, value in FAKE_EMBEDDER_ENV.items():
            mp.setenv(key, value)
        assert thb("ingest", str(write_corpus(tmp_path_factory.mktemp("corpus"), ["alpha.txt", "beta.txt"]))).exit_code == 0
        settings = load_settings().replace(max_file_mb=0.05)
        server, url = serve(settings)
        yield settings, url
        server.should_exit = True


@pytest.fixture
def client():
    import httpx

    with httpx.Client() as c:
        yield c


def _received(name: str) -> list[Path]:
    """Copies of an upload named `name` in Gradio's upload folder."""
    from ui.app_docs import upload_folder

    return [p for p in upload_folder().rglob(name) if p.is_file()]


def test_refused_upload_leaves_the_uploads_folder_and_fails_no_later_upload(app, client, tmp_path):
    """Defect 6: a file the index refused stayed in uploads/ and failed again on every later upload."""
    settings, url = app
    blank = f"blank-{tmp_path.name}.txt"
    outcome = upload(client, url, blank, b"   \n\n  \n")
    assert outcome.startswith("Not added: ") and blank in outcome
    assert not (settings.uploads_dir / blank).exists() and blank not in (settings.uploads_dir / "manifest.tsv").read_text()
    assert _received(blank) == []
    good = upload(client, url, "delta.txt", doc_text(TOPICS["delta.txt"]).encode(), title="Delta first")
    assert good.startswith("Added delta.txt: it is searchable now.") and "1 failed" not in good and "0 failed" in good


def test_reupload_with_new_metadata_updates_the_document(app, client):
    """Defect 6: re-uploading a file with a new title changed manifest.tsv but not the document."""
    settings, url = app
    content = doc_text("glimmerfax").encode()
    assert "searchable now" in upload(client, url, "epsilon.txt", content, title="Old epsilon title")
    assert "Old epsilon title" in search_html(client, url, "glimmerfax")
    again = upload(client, url, "epsilon.txt", content, title="New epsilon title", country="NO")
    assert "searchable now" in again and "1 updated" in again, again
    html = search_html(client, url, "glimmerfax")
    assert "New epsilon title" in html and "Old epsilon title" not in html


def test_file_over_the_size_limit_does_not_stay_in_the_temp_folder(app, client, tmp_path):
    """Defect 6: a file between Gradio's limit (THB_MAX_FILE_MB + 1 MB) and THB_MAX_FILE_MB was
    written to Gradio's temp folder before being refused, and stayed there."""
    settings, url = app
    name = f"big-{tmp_path.name}.txt"
    big = ("forced labour " * 6000).encode()  # 84 KB: over the 0.05 MB limit, far under 1.05 MB
    assert len(big) > settings.ingest.max_file_mb * 1048576
    r = client.post(f"{url}/gradio_api/upload", files=[("files", (name, big))], timeout=60)
    assert r.status_code == 413, (r.status_code, r.text[:200])
    assert _received(name) == []
    bad_year = f"year-{tmp_path.name}.txt"  # accepted by Gradio, refused by the app: its copy goes too
    assert upload(client, url, bad_year, b"forced labour", year="20x0") == "Not added: year '20x0' is not a four-digit year"
    assert _received(bad_year) == []


@pytest.mark.parametrize("query", ["\ud800 zorblatt", "Stra\udcdfe zorblatt", "zorblatt \udfff"])
def test_query_with_a_lone_surrogate_through_the_api(app, client, query):
    """Defect 3: the app showed "Something went wrong" for a lone surrogate in the query."""
    html = search_html(client, app[1], query)
    assert "Something went wrong" not in html and "The zorblatt procedure" in html


def test_a_3000_character_query_is_answered(app, client):
    """The load bench's mix has no such query (bench/load.py); it is tested here, on its own."""
    html = search_html(client, app[1], "zorblatt " + "x" * 3000)
    assert "Something went wrong" not in html and "The zorblatt procedure" in html


def test_api_docs_are_not_served(app, client):
    """Defect 7: with auth on, /docs, /redoc and /openapi.json were public; the app serves none."""
    for route in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(app[1] + route).status_code == 404, route


def test_api_docs_not_served_with_auth(tmp_path, fake_embedder):
    import httpx

    server, url = serve(load_settings(), auth=[("alice", "correct horse")])
    try:
        for route in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            r = httpx.get(url + route)
            assert r.status_code in (401, 404) and "openapi" not in r.text.lower(), route
    finally:
        server.should_exit = True


@pytest.mark.parametrize("host,status", [("evil.example", 400), ("evil.example:7860", 400), ("127.0.0.1.evil.example", 400),
                                         ("research.example.org", 400), ("localhost", 200), ("[::1]:7860", 200),
                                         ("127.0.0.1", 200)])
def test_host_header_check_against_dns_rebinding(app, client, host, status):
    """Defect 7: any Host header was answered, so a rebinding page could drive a local app."""
    r = client.get(f"{app[1]}/gradio_api/info", headers={"Host": host})
    assert r.status_code == status, (host, r.text[:100])
    if status == 400:
        assert r.text == "Host header not allowed: add the name to THB_ALLOWED_HOSTS."


def test_allowed_hosts_setting_admits_a_name(app):
    import httpx

    server, url = serve(app[0].replace(allowed_hosts="other.example, Research.example.org"))
    try:
        assert httpx.get(f"{url}/gradio_api/info", headers={"Host": "research.example.org:443"}).status_code == 200
        assert httpx.get(f"{url}/gradio_api/info", headers={"Host": "evil.example"}).status_code == 400
    finally:
        server.should_exit = True


def test_past_saturation_surplus_searches_get_503_busy_with_retry_after(app, monkeypatch):
    """Past saturation a search must get a fast "busy, retry" answer, never a timeout. The searcher
    here waits 1 s per search (a stand-in for a saturated machine, not the thing under test)."""
    import httpx

    from search.engine import Searcher
    from ui import app as app_module

    class SlowSearcher(Searcher):
        def search_batch(self, *args, **kwargs):
            import time

            time.sleep(1.0)
            return super().search_batch(*args, **kwargs)

    monkeypatch.setattr(app_module, "QUEUE_MAX_SIZE", 2)
    settings = app[0]
    server, url = serve(settings, searcher=SlowSearcher(settings.search))
    answers: list = []

    def one(i):
        with httpx.Client() as c:
            r = c.post(f"{url}/gradio_api/call/search", json={"data": [f"zorblatt {i}", [], [], [], "", "", [], [], False]},
                       timeout=30)
            answers.append((r.status_code, r.headers.get("retry-after"), r.json()))

    try:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(14)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        server.should_exit = True
    assert len(answers) == 14  # every request answered, none timed out
    busy = [a for a in answers if a[0] == 503]
    assert busy and all(a[1] == "2" and a[2] == {"detail": "The server is busy: retry in 2 s.", "retry_after_s": 2}
                        for a in busy), answers
    assert all(a[0] == 200 and "event_id" in a[2] for a in answers if a[0] != 503)

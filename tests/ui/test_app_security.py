"""The served app under attack: path traversal on the document routes, oversized or wrong-type
uploads, and auth on -> nothing answers without credentials. Runs the real server on a free
loopback port when ui.app provides build_server/serve_app; skipped with the reason otherwise."""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

app_module = pytest.importorskip("ui.app", reason="ui.app (the Gradio app) has not landed yet")
if not hasattr(app_module, "build_server"):
    pytest.skip("ui.app has no build_server(settings, auth=...) to serve", allow_module_level=True)

from ui.settings import load_settings  # noqa: E402

TRAVERSALS = ["../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
              "%252e%252e%252fetc%252fpasswd", "/etc/passwd", "%2Fetc%2Fpasswd", "..\\..\\etc\\passwd",
              "....//....//etc/passwd", "thb.sqlite", "..", "%00", "0" * 24 + "/../../etc/passwd"]


def _serve(settings, auth=None):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = app_module.build_server(settings, auth=auth, host="127.0.0.1", port=port)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def served(session_settings):
    server, url = _serve(session_settings)
    yield url
    server.should_exit = True


@pytest.mark.slow
@pytest.mark.parametrize("attack", TRAVERSALS)
def test_path_traversal_on_document_routes_gets_nothing(served, attack):
    import httpx

    for route in (f"/doc/{attack}/file", f"/doc/{attack}/view", f"/doc/x/file?path={attack}"):
        r = httpx.get(served + route, timeout=30)
        assert r.status_code < 500, (route, r.status_code)
        assert "root:x:0:0" not in r.text and "SQLite format" not in r.text
        if route.startswith("/doc/") and route.endswith(("/file", "/view")) and r.status_code == 200:
            assert r.headers["content-type"].startswith("text/html"), route  # the app page, not a file


@pytest.mark.slow
def test_known_document_is_served(served, session_settings):
    import httpx

    from index import store

    conn = store.connect(session_settings.index_dir / "thb.sqlite", readonly=True)
    doc_id = conn.execute("SELECT doc_id FROM documents LIMIT 1").fetchone()[0]
    conn.close()
    assert httpx.get(f"{served}/doc/{doc_id}/file", timeout=30).status_code == 200


def test_upload_over_limit_or_wrong_type_is_refused_before_being_written(fake_embedder, tmp_path):
    from ui import app_docs

    settings = load_settings().replace(max_file_mb=0.01)
    big = tmp_path / "big.txt"
    big.write_text("forced labour " * 2000)
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ" + bytes(100))
    for path in (big, exe):
        with pytest.raises(app_docs.UploadRejected):
            app_docs.save_upload(settings, str(path), path.name, {}, folder=tmp_path)
    assert not settings.uploads_dir.exists() or not any(settings.uploads_dir.iterdir())


@pytest.mark.slow
def test_with_auth_no_endpoint_answers_without_credentials(session_settings):
    import httpx

    server, url = _serve(session_settings, auth=[("alice", "correct horse")])
    try:
        with httpx.Client() as anon:
            assert anon.get(f"{url}/doc/{'0' * 24}/file").status_code == 401
            for route in ("/gradio_api/info", "/config", "/gradio_api/call/search", "/gradio_api/upload",
                          "/gradio_api/queue/join", "/file=/etc/passwd", "/gradio_api/file=/etc/passwd"):
                r = anon.post(url + route, json={"data": ["x"]}) if "call" in route or "join" in route \
                    or "upload" in route else anon.get(url + route)
                assert r.status_code in (401, 403, 404, 405, 422), (route, r.status_code)
                assert "root:x:0:0" not in r.text
            assert anon.post(f"{url}/login", data={"username": "alice", "password": "wrong"}).status_code in (400, 401)
        with httpx.Client() as user:
            assert user.post(f"{url}/login", data={"username": "alice", "password": "correct horse"}).status_code == 200
            assert user.get(f"{url}/gradio_api/info").status_code == 200
    finally:
        server.should_exit = True


SECRET = "thb-secret-marker: this file lies outside every upload folder"


def _add_payload(path: str) -> dict:
    """The request of the 2026-11 adversarial test: the add endpoint told to ingest a server path."""
    return {"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}, "t", "report", "SE", "en", "2020"]}


def _call_add(client, url: str, path: str) -> str:
    """POST /gradio_api/call/add, then read the event stream; returns the whole stream text."""
    r = client.post(f"{url}/gradio_api/call/add", json=_add_payload(path), timeout=60)
    if r.status_code != 200:
        return f"HTTP {r.status_code} {r.text}"
    event = r.json()["event_id"]
    return client.get(f"{url}/gradio_api/call/add/{event}", timeout=300).text


def _uploaded_ids(home) -> list[str]:
    import sqlite3

    db = home / "index" / "thb.sqlite"
    if not db.is_file():
        return []
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT doc_id FROM documents")]


@pytest.mark.parametrize("with_auth", [False, True], ids=["no-login", "login"])
def test_add_endpoint_refuses_a_server_path_named_in_the_request(fake_embedder, tmp_path, with_auth):
    """Defect 1 of issue 13: naming /etc/... (or any readable file, a symlink to one, or a path
    climbing out of Gradio's upload folder) in the add request indexed the file, and
    /doc/{id}/file then served it. Now nothing is copied, indexed or served."""
    import httpx

    from gradio.utils import get_upload_folder

    settings = load_settings(home=tmp_path / "home")
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET + "\n", encoding="utf-8")
    inside = Path(get_upload_folder()) / f"thb-test-{tmp_path.name}"
    inside.mkdir(parents=True, exist_ok=True)
    link = inside / "link.txt"
    link.unlink(missing_ok=True)
    link.symlink_to(secret)
    attacks = [str(secret), "/etc/hostname", str(link), str(inside / ".." / ".." / secret.relative_to("/")),
               str(inside / ".." / f"thb-test-{tmp_path.name}" / "link.txt")]
    auth = [("alice", "correct horse")] if with_auth else None
    server, url = _serve(settings, auth=auth)
    try:
        with httpx.Client() as client:
            if with_auth:
                assert client.post(f"{url}/login", data={"username": "alice", "password": "correct horse"}
                                   ).status_code == 200
            for attack in attacks:
                answer = _call_add(client, url, attack)
                assert "searchable now" not in answer, (attack, answer)
                assert SECRET not in answer
            assert _uploaded_ids(settings.home) == []
            assert not settings.uploads_dir.exists() or not any(settings.uploads_dir.iterdir())
            for doc_id in _uploaded_ids(settings.home):
                assert SECRET not in client.get(f"{url}/doc/{doc_id}/file").text
    finally:
        server.should_exit = True
        link.unlink(missing_ok=True)
        inside.rmdir()


def test_uploaded_path_check_accepts_only_real_files_inside_the_upload_folder(tmp_path):
    from ui import app_docs

    folder = tmp_path / "gradio"
    (folder / "abc").mkdir(parents=True)
    real = folder / "abc" / "note.txt"
    real.write_text("forced labour", encoding="utf-8")
    outside = tmp_path / "secret.txt"
    outside.write_text("x", encoding="utf-8")
    (folder / "abc" / "link.txt").symlink_to(outside)
    (tmp_path / "linkdir").symlink_to(folder / "abc")
    assert app_docs.check_uploaded_path(str(real), folder) == real.resolve()
    for bad in (outside, folder / "abc" / "link.txt", folder / "abc" / ".." / ".." / "secret.txt",
                tmp_path / "linkdir" / "note.txt", folder, "relative/note.txt"):
        with pytest.raises(app_docs.UploadRejected, match="not a file this app received|symbolic link"):
            app_docs.check_uploaded_path(str(bad), folder)

"""The research app in a real browser: Debian's headless Chromium driven by Playwright (sync API).

The app is served on a free localhost port from a copy of the session index (uploads change it).
Screenshots of the main views go to $THB_SCREENSHOTS, by default a folder in the system's temp
directory (printed), so that a test run leaves the checkout clean; `THB_SCREENSHOTS=docs/screenshots`
refreshes the README's pictures.
"""
from __future__ import annotations

import io
import os
import shutil
import tempfile
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} is absent: the browser tests need Debian's chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(os.environ.get("THB_SCREENSHOTS") or Path(tempfile.gettempdir()) / "thb-screenshots").resolve()
TIMEOUT_MS = 120_000  # a loaded two-core machine embeds slowly; normal answers take ~1 s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(session_settings, tmp_path_factory):
    import uvicorn

    from search.engine import Searcher
    from ui.app import build_server

    home = tmp_path_factory.mktemp("ui-home")
    shutil.copytree(session_settings.home, home, dirs_exist_ok=True)
    settings = session_settings.replace(home=home)
    port = _free_port()
    app = build_server(settings, searcher=Searcher(settings), port=port)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started and time.time() < deadline:
        time.sleep(0.1)
    assert server.started, "the app did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.goto(app_url)
    pg.wait_for_selector("#query textarea")
    yield pg
    context.close()


def search(page, query: str) -> float:
    """Type, press Search; seconds until the first hit is visible."""
    page.fill("#query textarea", query)
    started = time.perf_counter()
    page.click("#search-btn")
    page.wait_for_selector("#results .thb-hit")
    return time.perf_counter() - started


def wait_highlighted(page) -> None:
    """Wait until the status line reports the finished search (with its answering sentences marked)."""
    page.wait_for_function("() => { const s = document.querySelector('#status');"
                           " return s && /passages in/.test(s.innerText) && !/marking/.test(s.innerText); }")


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    print(f"\nscreenshot: {SHOTS / name}.png")


def test_search_shows_priority_groups_with_cited_hits(page):
    seconds = search(page, "penalty for trafficking in human beings for forced labour")
    print(f"\ntime to first result in the browser: {seconds:.2f} s")
    groups = page.locator("#results details.thb-group")
    assert groups.count() >= 1
    assert page.locator("#results details.thb-group summary .thb-count").first.inner_text().strip().isdigit()
    citations = page.locator("#results a.thb-citation")
    assert citations.count() >= 3
    assert all(t.strip() for t in citations.evaluate_all("els => els.map(e => e.textContent)"))
    wait_highlighted(page)
    assert page.locator("#results .thb-passage mark").count() >= 1
    shot(page, "ask")
    page.get_by_role("tab", name="Compare countries").click()
    page.wait_for_selector("#heatmap .js-plotly-plot, #heatmap .plot-container")
    page.locator("#cell-btn").click()
    page.wait_for_selector("#cell-results .thb-hit")
    shot(page, "compare")


def test_filter_by_country_keeps_only_that_country(page):
    search(page, "punishment for trafficking in human beings")
    assert len(set(page.locator("#results .thb-hit").evaluate_all("els => els.map(e => e.dataset.country)"))) > 1
    page.locator("#filters").get_by_text("Filters").click()
    page.locator("#f-country input").click()
    page.locator("#f-country input").fill("DE")
    page.keyboard.press("Enter")
    page.wait_for_function("() => { const hs = [...document.querySelectorAll('#results .thb-hit')];"
                           " return hs.length > 0 && hs.every(h => h.dataset.country === 'DE'); }")
    countries = page.locator("#results .thb-hit").evaluate_all("els => els.map(e => e.dataset.country)")
    assert set(countries) == {"DE"}


def test_a_whole_provision_hit_is_marked_whole_in_its_document(page, app_url):
    """straffeloven § 257 is three chunks; its hit shows the whole section, and the citation opens
    the document with exactly that passage marked, not the one chunk the hit came from."""
    search(page, "human trafficking Norway")
    wait_highlighted(page)
    hit = page.locator("#results .thb-hit", has=page.locator("a.thb-citation", has_text="§ 257")).first
    passage = " ".join(hit.locator(".thb-passage").inner_text().split())
    assert "Menneskehandel" in passage or "menneskehandel" in passage, passage[:200]
    href = hit.locator("a.thb-citation").get_attribute("href")
    assert "&start=" in href and "&end=" in href, href
    view = page.context.new_page()
    view.goto(app_url + href)
    marked = view.locator("#text mark")
    assert marked.count() == 1
    assert " ".join(marked.inner_text().split()) == passage
    view.screenshot(path=str(SHOTS / "provision-view.png"), full_page=False)
    view.close()


def test_pdf_citation_opens_the_cited_page(page, app_url):
    search(page, "UCR human trafficking offenses reported by law enforcement agencies")
    link = page.locator("#results .thb-hit a.thb-citation", has_text="p. ").first
    cited_page = int(link.inner_text().split("p. ")[-1].split("-")[0].split(",")[0])
    href = link.get_attribute("href")
    assert href.startswith("/doc/") and "/view?chunk=" in href
    view = page.context.new_page()
    view.goto(app_url + href)
    frame_src = view.locator("#pdf-frame").get_attribute("src")
    assert frame_src.endswith(f"#page={cited_page}")
    assert view.locator("#pdf-link").get_attribute("href") == frame_src
    assert view.locator("#text mark").count() == 1
    response = view.request.get(app_url + frame_src.split("#")[0])
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body()[:5] == b"%PDF-"
    view.wait_for_timeout(1500)
    shot(view, "source-pdf")
    assert view.request.get(app_url + "/doc/0000000000000000/file").status == 404
    assert view.request.get(app_url + "/doc/..%2F..%2Fetc%2Fpasswd/file").status == 404
    view.close()


def test_pin_two_hits_and_export_docx(page, app_url):
    from docx import Document

    search(page, "obligations of companies in their supply chains")
    wait_highlighted(page)
    boxes = page.locator("#pick input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    picked = [t.split(". ", 1)[1] for t in page.locator("#pick label").all_inner_texts()[:2]]
    page.click("#pin-btn")
    page.wait_for_function("() => /2 passages in the basket/.test(document.querySelector('#pin-status').innerText)")
    page.get_by_role("tab", name="Briefing basket").click()
    page.click("#export-docx")
    link = page.locator("#export-file a[href]").first
    link.wait_for()
    body = page.request.get(link.get_attribute("href") if link.get_attribute("href").startswith("http")
                            else app_url + link.get_attribute("href")).body()
    doc = Document(io.BytesIO(body))
    quotes = [p.text for p in doc.paragraphs if p.style.name == "Quote"]
    citations = [p.text for p in doc.paragraphs if p.text.startswith("— ")]
    assert len(quotes) == 2 and all(len(q) > 40 for q in quotes)
    assert len(citations) == 2
    for label in picked:
        assert any(c[2:].startswith(label.rstrip("…")[:60]) for c in citations), (label, citations)
    assert "obligations of companies in their supply chains" in [p.text for p in doc.paragraphs]
    shot(page, "basket")


def test_uploaded_text_file_becomes_searchable(page, tmp_path):
    doc = tmp_path / "Zephyr harbour note.txt"
    doc.write_text("Harbour guidance note.\n\nThe Zephyrine lighthouse protocol requires ferry operators to "
                   "report suspected trafficking of deckhands to the harbour master within two days.\n",
                   encoding="utf-8")
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files(str(doc))
    for elem_id, value in (("u-title", "Zephyrine harbour guidance"), ("u-country", "SE"), ("u-year", "2024")):
        page.locator(f"#{elem_id}").locator("textarea, input").first.fill(value)  # Gradio 6 textboxes are textareas
    page.click("#add-btn")
    page.wait_for_function("() => /searchable now|Not added/.test(document.querySelector('#add-status').innerText)")
    assert "searchable now" in page.locator("#add-status").inner_text()
    page.wait_for_selector("text=Zephyrine harbour guidance")
    shot(page, "documents")
    page.get_by_role("tab", name="Ask", exact=True).click()
    search(page, "Zephyrine lighthouse protocol ferry deckhands")
    # Hits are grouped by priority, so the top-ranked hit need not come first on the page.
    shown = page.locator("#results .thb-hit").all_inner_texts()
    top = [t for t in shown if t.lstrip().startswith("1.")]
    assert top and "Zephyrine harbour guidance" in top[0], [t[:120] for t in shown]


def test_upload_of_wrong_type_says_why(page, tmp_path):
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ\x00\x00")
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    page.click("#add-btn")
    page.wait_for_function("() => /Not added/.test(document.querySelector('#add-status').innerText)")
    assert ".exe files are not accepted" in page.locator("#add-status").inner_text()


def test_empty_query_gives_a_friendly_message(page):
    page.fill("#query textarea", "   ")
    page.click("#search-btn")
    page.wait_for_selector("#results .thb-msg:has-text('Type a question')")
    text = page.locator("body").inner_text()
    assert "Traceback" not in text and "Error" not in text

"""The Recommendations tab in a real browser (Debian chromium + Playwright), over an index of the
two Latvian GRETA fixture reports, ingested with the real model and tagger.

Screenshots go to $THB_SCREENSHOTS (default: a temp folder); `THB_SCREENSHOTS=docs/screenshots`
refreshes docs/screenshots/recommendations.png.
"""
from __future__ import annotations


import pytest

from tests.ui.test_ui_browser import CHROMIUM, FLAGS, SHOTS, TIMEOUT_MS, sync_api

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def greta_url(tmp_path_factory):
    from index.builder import ingest_paths
    from ui.settings import load_settings
    from search.engine import Searcher
    from tests.kit.greta_fixtures import write_corpus
    from tests.kit.reliability_kit import serve

    corpus = write_corpus(tmp_path_factory.mktemp("greta"))
    settings = load_settings(home=tmp_path_factory.mktemp("greta-home"), multilingual="off")
    summary = ingest_paths(settings.index, [corpus])
    assert not summary.failed and summary.recommendations == 16, summary
    server, url = serve(settings, searcher=Searcher(settings.search))
    yield url
    server.should_exit = True


@pytest.fixture
def page(greta_url):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1100})
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        pg.goto(greta_url)
        pg.wait_for_selector("#query textarea")
        yield pg
        browser.close()


def _choose(page, elem_id: str, option: str) -> None:
    page.click(f"#{elem_id} input")
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def test_recommendations_tab_filters_counts_and_opens_the_paragraph(page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_role("tab", name="Recommendations").click()
    page.wait_for_selector("#r-table tr.thb-rec")
    assert page.locator("#r-table tr.thb-rec").count() == 16
    assert "16 recommendations" in page.inner_text("#r-status")
    assert page.locator("#r-matrix td.thb-cell").count() >= 3

    _choose(page, "r-country", "LV")
    page.wait_for_function("document.querySelector('#r-table').innerText.includes('repeated from round 2')")
    text = page.inner_text("#r-table")
    assert text.count("repeated from round 2") == 3 and "no longer made" in text and "new" in text
    page.screenshot(path=str(SHOTS / "recommendations.png"), full_page=True)

    _choose(page, "r-strength", "urges")
    page.wait_for_function("document.querySelectorAll('#r-table tr.thb-rec').length === 7")
    strengths = page.locator("#r-table tr.thb-rec").evaluate_all("rows => rows.map(r => r.dataset.strength)")
    assert set(strengths) == {"urges"}

    row = page.locator("#r-table tr.thb-rec", has_text="State Labour Inspectorate")
    assert "GRETA LV 3rd round, para. 7, p. 4" in row.inner_text()
    with page.context.expect_page() as opened:
        row.locator("td").nth(2).locator("a").click()  # the recommendation's own text is a link too
    viewer = opened.value
    viewer.wait_for_load_state()
    marked = viewer.inner_text("mark")
    assert "7. Labour inspectors have no mandate" in marked and "Article 10 of the Convention" in marked
    viewer.screenshot(path=str(SHOTS / "recommendation-paragraph.png"))


def test_search_hits_from_a_greta_report_show_their_strength_chip(page):
    page.fill("#query textarea", "compensation fund for victims regardless of nationality")
    page.click("#search-btn")
    page.wait_for_selector("#results .thb-hit")
    first = page.locator("#results .thb-hit").first
    assert "GRETA LV 3rd round, para. 12" in first.inner_text()
    assert first.locator(".thb-strength").get_attribute("data-strength") == "invites"
    page.screenshot(path=str(SHOTS / "recommendations-search-chip.png"))

    # the Ask tab's strength filter keeps only passages whose paragraph GRETA "urges" on
    page.locator("#filters").get_by_text("Filters").click()
    _choose(page, "f-strength", "urges")
    page.wait_for_function("() => { const hs = [...document.querySelectorAll('#results .thb-hit')];"
                           " return hs.length > 0 && hs.every(h => h.querySelector('.thb-strength')"
                           " && h.querySelector('.thb-strength').dataset.strength === 'urges'); }")
    page.wait_for_function("() => location.search.includes('strength=urges')")  # the link carries it

"""The app's pure views and its state file: the ranked list, the overview, the grouped view, the
heatmap's counts, the search in the URL, saved searches and baskets per user (no model needed)."""
from __future__ import annotations

import re

from ui.settings import load_settings
from search.hits import Hit
from ui import app_results as results
from ui import app_state
from ui.app_url import form_from_url, url_query
from ui.app_labels import country_label, language_label, plural

LABELS = {"demand": "Discouraging demand", "victim_protection": "Victim protection", "gender": "Gender dimension"}


def make_hit(rank, priorities=(), country="DE", scores=None) -> Hit:
    return Hit(rank=rank, score=2.0 / rank, chunk_id=f"d:{rank}", doc_id="d", doc_path="p.txt", title=f"T{rank}",
               doc_type="national_legislation", country=country, language="nb", year=2020, page=None,
               page_end=None, section="", paragraph="", start=0, end=1, text="x", priorities=priorities,
               priority_scores=scores or {})


def test_the_list_is_in_rank_order_with_chips_even_when_the_best_hit_is_untagged():
    hits = [make_hit(1), make_hit(2, ("demand", "gender")), make_hit(3, ("gender",))]
    html = results.results_view_html(hits, dict(results.DEFAULT_VIEW), LABELS)
    assert re.findall(r'data-rank="(\d+)"', html) == ["1", "2", "3"]
    assert html.count('class="thb-hit"') == 3  # a hit with two tags is one card
    assert 'data-action="pin:d:2"' in html and "Discouraging demand</span>" in html
    assert "Norway" not in html and "Germany (DE)" in html and "Norwegian (bokmål)" in html
    assert "National legislation" in html and "●●●●● strong match" in html


def test_overview_counts_each_priority_and_orders_by_best_hit_and_focus_filters():
    hits = [make_hit(1), make_hit(2, ("demand", "gender")), make_hit(3, ("gender",)), make_hit(4, ("victim_protection",))]
    assert results.overview(hits, LABELS) == [("other", "No thematic priority", 1), ("demand", "Discouraging demand", 1),
                                              ("gender", "Gender dimension", 2), ("victim_protection", "Victim protection", 1)]
    shown, matching = results.visible_hits(hits, {"page": 1, "focus": "gender"})
    assert [h.rank for h in shown] == [2, 3] and matching == 2


def test_grouped_view_shows_each_hit_once_under_its_strongest_priority():
    hits = [make_hit(1, ("demand", "gender"), scores={"demand": 0.2, "gender": 0.7}), make_hit(2, ("demand",)),
            make_hit(3)]
    html = results.results_view_html(hits, dict(results.DEFAULT_VIEW, grouped=True), LABELS)
    assert html.count('class="thb-hit"') == 3
    assert re.findall(r'<details class="thb-group" data-priority="([^"]+)"', html) == ["gender", "demand", "other"]


def test_pages_of_ten_and_plural_count_lines():
    hits = [make_hit(r) for r in range(1, 24)]
    assert len(results.visible_hits(hits, {"page": 2})[0]) == 20
    assert results.count_line(10, 23, 23) == "Showing 10 of 23 passages"
    assert results.count_line(1, 1, 1) == "1 passage" and plural(1, "document") == "1 document"


def test_heatmap_counts_a_hit_once_per_cell_with_distinct_totals():
    hits = [make_hit(1, ("demand", "gender"), "NO"), make_hit(2, ("demand",), "NO"), make_hit(3, (), "SE")]
    countries, prios, cells = results.matrix(hits, LABELS)
    assert countries == ["NO", "SE"] and prios == ["demand", "gender", "other"]
    assert {k: len(v) for k, v in cells.items() if v} == {("NO", "demand"): 2, ("NO", "gender"): 1, ("SE", "other"): 1}
    html = results.heatmap_html(hits, LABELS, "q")
    assert '<td class="thb-total" data-country="NO">2</td>' in html  # two passages, three cell counts
    assert '<td class="thb-total" data-priority="demand">2</td>' in html and 'data-action="cell:SE|other"' in html
    assert "No thematic priority" in html


def test_search_in_the_url_round_trips():
    values = (("NO", "SE"), (), ("nb",), "2005", None, ("demand",), ("urges",))
    text = url_query("Menneskehandel straff", values, {"page": 2, "focus": "gender", "grouped": True})
    form = form_from_url(dict(re.findall(r"([^&=]+)=([^&]*)", text.replace("+", " ").replace("%2C", ","))))
    assert form["query"] == "Menneskehandel straff" and form["values"] == (("NO", "SE"), (), ("nb",), "2005", None,
                                                                           ("demand",), ("urges",))
    assert "strength=urges" in text
    assert (form["page"], form["focus"], form["grouped"]) == (2, "gender", True)
    assert form_from_url({"q": "x", "page": "nine", "from": "19x5"})["page"] == 1


def test_saved_searches_and_baskets_are_per_user_and_outlive_the_index_folder(tmp_path):
    settings = load_settings(home=tmp_path)
    app_state.save_search(settings, "ana", "forced labour", "forced labour", {"countries": ["NO"]})
    app_state.store_basket(settings, "ana", {"items": [{"chunk_id": "d:1"}], "queries": ["forced labour"]})
    # a rebuild replaces the index folder; state.sqlite sits beside it, not in it
    assert not app_state.state_path(settings).is_relative_to(settings.index_dir)
    assert list(app_state.saved_searches(settings, "ana")) == ["forced labour"]
    assert app_state.saved_searches(settings, "ben") == {}
    assert app_state.load_basket(settings, "ana")["items"] == [{"chunk_id": "d:1"}]
    assert app_state.load_basket(settings, "") == {"items": [], "queries": []}
    assert app_state.state_path(settings) == tmp_path / "state.sqlite"


def test_labels_for_codes():
    assert country_label("NO") == "Norway (NO)" and country_label("XX") == "XX"
    assert language_label("nb") == "Norwegian (bokmål)"


def test_the_first_versions_saved_searches_json_is_imported_once(tmp_path):
    import json

    settings = load_settings(home=tmp_path)
    (tmp_path / "saved_searches.json").write_text(json.dumps(
        {"old": {"query": "debt bondage", "filters": {"countries": ["FI"]}, "saved_at": 1.0, "last_opened": 2.0}}))
    assert app_state.saved_searches(settings, "")["old"]["filters"] == {"countries": ["FI"]}
    app_state.delete_search(settings, "", "old")
    assert app_state.saved_searches(settings, "") == {}  # not imported again


def test_markdown_export_keeps_the_order_bolds_the_answer_and_cites_in_full():
    from ui.app_basket import to_markdown

    items = [{"chunk_id": f"d:{n}", "citation": f"Act {n}, § {n}", "text": f"Intro {n}. The answer {n} is here. Tail.",
              "highlights": [f"The answer {n} is here."], "priority": "Demand", "country": "NO", "year": 2005,
              "doc_type": "national_legislation", "query": "q"} for n in (2, 1)]
    text = to_markdown({"items": items, "queries": ["q"]})
    assert text.index("### 1. Act 2, § 2") < text.index("### 2. Act 1, § 1")
    assert "> Intro 2. **The answer 2 is here.** Tail." in text
    assert "> — Act 2, § 2 (Norway (NO), National legislation, 2005)" in text
    assert re.search(r"Prepared \d{4}-\d{2}-\d{2}", text) and "## Queries used\n\n- q" in text


def test_the_ask_form_strength_filter_reaches_the_search_filters():
    """The Ask tab's "GRETA recommendation" filter (urges / considers / invites) is a search filter."""
    from ui.app import filters_dict, parse_filters
    from ui.app_url import filter_values_of

    values = (("LV",), (), (), "", "", (), ("urges", "considers"))
    assert parse_filters(*values).strengths == ("urges", "considers")
    assert filter_values_of(filters_dict(*values))[6] == ("urges", "considers")
    assert parse_filters(*values[:6]).strengths == ()


def test_the_no_strong_match_notice_stands_above_the_list_and_no_hit_looks_strong():
    hits = [make_hit(r) for r in range(1, 4)]
    notice = "No strong match: nothing answers."
    html = results.results_view_html(hits, dict(results.DEFAULT_VIEW), {}, notice=notice)
    assert html.index('id="no-strong-match"') < html.index('id="hit-list"')
    assert "strong match</span>" not in html
    assert "strong match</span>" in results.results_view_html(hits, dict(results.DEFAULT_VIEW), {})
    assert 'id="no-strong-match"' not in results.results_view_html(hits, dict(results.DEFAULT_VIEW), {})

"""The Gradio app's handlers (ui/app.py `Handlers`) called directly, without a browser or a server.

They run on the demo index built with the fake embedder (conftest `fake_embedder_home`): the
subject is what each handler returns and stores (results, filters, basket, saved searches,
documents, uploads), not the ranking. The real searcher, SQLite, FAISS and Gradio are used.
"""
from __future__ import annotations

from html import unescape
from pathlib import Path
from types import SimpleNamespace

import pytest

from search.engine import EMPTY_QUERY_MESSAGE
from ui.app_basket import EMPTY_BASKET

QUERY = "victims of trafficking for labour exploitation"
NO_FILTERS = [[], [], [], "", "", [], []]  # countries, doc types, languages, year from, year to, priorities, strengths


@pytest.fixture
def received(tmp_path):
    """A folder inside Gradio's upload folder: where a browser's upload lands before the add handler."""
    import shutil

    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()) / f"thb-test-{tmp_path.name}"
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def handlers(fake_embedder_home):
    from ui.app import Handlers

    return Handlers(fake_embedder_home)


def _ask(handlers, query=QUERY, filters=NO_FILTERS, basket=None, grouped=False):
    """Ask tab: (results html, status, hits, view, more button, heatmap, cell, url)."""
    out = handlers.search(query, *filters, basket or EMPTY_BASKET, grouped)
    assert len(out) == 8
    return out


def test_search_returns_ranked_hits_with_their_citations_status_heatmap_and_link(handlers):
    html, status, hits, view, _more, heatmap, cell, url = _ask(handlers)
    assert hits and [h.rank for h in hits] == list(range(1, len(hits) + 1))
    text = unescape(html)
    assert all(h.title in text for h in hits[:10])  # the first page names each hit's document
    assert text.index(hits[0].title) <= text.index(hits[1].title) or hits[0].title == hits[1].title
    assert status.startswith(f"{len(hits)} passages in ")
    assert view["k"] >= len(hits) and view["grouped"] is False and cell == ""
    assert "victims" in unescape(url) and "thb-msg" not in html
    assert f"“{QUERY}” by country and thematic priority ({len(hits)} passages)" in unescape(heatmap)


def test_a_doc_type_filter_reaches_the_search(handlers):
    filters = [[], ["international_instrument"], [], "", "", [], []]
    hits = _ask(handlers, filters=filters)[2]
    assert hits and {h.doc_type for h in hits} == {"international_instrument"}
    years = [[], [], [], "2015", "", [], []]
    assert {h.year >= 2015 for h in _ask(handlers, filters=years)[2]} == {True}


@pytest.mark.parametrize("query", ["", "   ", None])
def test_an_empty_question_gets_the_message_and_no_hits(handlers, query):
    html, status, hits, *_ = _ask(handlers, query=query)
    assert hits == [] and status == "" and EMPTY_QUERY_MESSAGE in unescape(html)


def test_regroup_shows_the_same_hits_under_priority_headings(handlers):
    html, _s, hits, view, *_ = _ask(handlers)
    grouped = handlers.regroup(True, QUERY, *NO_FILTERS, hits, view, EMPTY_BASKET)
    assert grouped[2] == hits and grouped[3]["grouped"] is True
    labels = [handlers.labels[p] for h in hits[:10] for p in h.priorities]
    assert labels and any(label in unescape(grouped[0]) for label in labels)
    assert grouped[0] != html


def test_pin_a_hit_then_export_the_basket_as_markdown(handlers, fake_embedder_home):
    hits, view = _ask(handlers)[2:4]
    chosen = hits[1]
    out = handlers.ask_action(QUERY, *NO_FILTERS, hits, view, EMPTY_BASKET,
                              evt=SimpleNamespace(action=f"pin:{chosen.chunk_id}"))
    basket = out[8]
    assert [i["chunk_id"] for i in basket["items"]] == [chosen.chunk_id]
    assert out[-1] == "1 passage in the basket"
    from ui import app_state

    assert app_state.load_basket(fake_embedder_home, "") == basket  # stored for the (anonymous) user
    path, message = handlers.export(basket, "markdown")
    assert message.startswith("Exported 1 passage to ")
    exported = open(path, encoding="utf-8").read()
    assert chosen.title in exported and " ".join(chosen.text.split())[:60] in " ".join(exported.split())
    assert handlers.export(EMPTY_BASKET, "markdown") == (None, "Pin some passages first.")


def test_a_heatmap_cell_click_lists_that_cells_passages(handlers):
    hits = _ask(handlers)[2]
    hit = next(h for h in hits if h.priorities)
    country, priority = hit.country, hit.priorities[0]
    heatmap, cell = handlers.heat_click(hits, EMPTY_BASKET, QUERY, evt=SimpleNamespace(action=f"cell:{country}|{priority}"))
    in_cell = [h for h in hits if h.country == country and priority in h.priorities]
    assert in_cell and all(h.title in unescape(cell) for h in in_cell[:3])
    outside = [h for h in hits if h.country != country]
    assert all(h.title not in unescape(cell) for h in outside if all(h.title != i.title for i in in_cell))
    assert handlers.heat_click(hits, EMPTY_BASKET, QUERY, evt=SimpleNamespace(action="nonsense"))[1] != cell


def test_a_saved_search_is_listed_and_reopens_the_same_search(handlers):
    choices, message = handlers.save_search("labour", QUERY, *NO_FILTERS)
    assert message == "Saved “labour”." and choices["choices"] == ["labour"]
    hits = _ask(handlers)[2]
    reopened = handlers.open_saved("labour", EMPTY_BASKET, False)
    assert reopened[0] == QUERY and reopened[1:8] == ((), (), (), "", "", (), ())  # the form, filled
    assert [h.chunk_id for h in reopened[10]] == [h.chunk_id for h in hits]
    assert "No new documents answer this search since" in unescape(reopened[8])
    assert "Type a question" in handlers.save_search("", "  ", *NO_FILTERS)[1]


def test_documents_table_counts_the_indexed_documents_and_their_passages(handlers, fake_embedder_home):
    import sqlite3

    rows_update, fails_update = handlers.documents()
    with sqlite3.connect(fake_embedder_home.index_dir / "thb.sqlite") as conn:
        n_chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    assert len(rows_update["value"]) == 4
    assert rows_update["label"] == f"Documents in the index: 4 documents, {n_chunks} passages"
    assert fails_update["value"] == [] and fails_update["label"].endswith(": 0")


def test_an_uploaded_file_is_searchable_and_a_deleted_one_is_gone(handlers, received):
    upload = received / "note.txt"
    upload.write_text("Article 1. The quorblax inspection of recruitment agencies is required.\n", encoding="utf-8")
    outcome = handlers.upload(str(upload), "Quorblax note", "report", "SE", "en", "2024")
    assert outcome.startswith("Added note.txt: it is searchable now."), outcome
    hits = _ask(handlers, query="quorblax inspection")[2]
    assert hits[0].title == "Quorblax note" and hits[0].country == "SE" and hits[0].year == 2024
    assert len(handlers.documents()[0]["value"]) == 5
    message = handlers.document_action("delete", hits[0].doc_id)
    assert message == "Deleted note.txt from the index and from the uploads."
    after = _ask(handlers, query="quorblax inspection")[2]
    assert all(h.title != "Quorblax note" for h in after)
    assert handlers.upload(None, "", "", "", "", "") == "Choose a file to upload."


def test_an_upload_of_a_refused_type_says_why(handlers, received):
    bad = received / "tool.exe"
    bad.write_bytes(b"MZ\x90\x00")
    outcome = handlers.upload(str(bad), "", "report", "SE", "en", "2024")
    assert outcome.startswith("Not added: ") and "exe" in outcome.lower(), outcome

"""End to end on real files: ingest -> index -> search, incremental ingest, model mismatch."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from index import catalog
from index.builder import ingest_paths
from index.store import connect
from index.errors import IndexMismatch
from ui.settings import load_settings
from search.engine import Searcher
from tests.conftest import BUNDLED_CORPUS, copy_subset


def _hit_containing(result, needle: str):
    for hit in result.hits:
        if needle in " ".join(hit.text.split()):
            return hit
    return None


@pytest.mark.slow
def test_pdf_hit_carries_its_page(searcher):
    result = searcher.search("In which sectors are victims of labour trafficking typically made to work?")
    hit = _hit_containing(result, "trafficked for the purpose of labour exploitation are typically")
    assert hit is not None, [h.citation for h in result.hits]
    assert hit.doc_path == "pdf/unodc-human-trafficking-indicators.pdf"
    assert hit.page == 2
    assert hit.citation.endswith("p. 2")


@pytest.mark.slow
def test_pdf_chunks_map_to_the_page_their_text_is_on(session_settings):
    conn = connect(session_settings.index_dir / catalog.DB_NAME, readonly=True)
    row = conn.execute("SELECT c.page_start, c.page_end FROM chunks c JOIN paths p ON p.doc_id = c.doc_id "
                       "WHERE p.doc_path = 'pdf/fbi-ucr-human-trafficking-2014.pdf' AND c.text LIKE '%Involuntary Servitude%' "
                       "ORDER BY c.ordinal LIMIT 1").fetchone()
    assert tuple(row) == (1, 1)


@pytest.mark.slow
def test_reflection_period_question_finds_cets_197_article_13(searcher):
    result = searcher.search("How long is the recovery and reflection period for presumed victims?")
    top = result.hits[0]
    assert top.doc_path == "international/coe-cets197-convention-action-against-trafficking.txt"
    assert top.section.startswith("CETS 197 Article 13")
    assert "at least 30 days" in top.text
    assert top.highlights and any("30 days" in h.text for h in top.highlights)


@pytest.mark.slow
def test_every_hit_is_citable(searcher):
    result = searcher.search("forced labour penalty", top_k=10)
    assert len(result.hits) == 10
    for hit in result.hits:
        assert hit.doc_path and hit.title and hit.text
        assert hit.page or hit.section, hit.chunk_id
    assert len({h.doc_id for h in result.hits[:10]}) >= 3  # no single document fills the page


@pytest.mark.slow
def test_filters_restrict_results(searcher):
    from search.hits import Filters

    result = searcher.search("human trafficking penalty", Filters(countries=("NO",)))
    assert result.hits and all(h.country == "NO" for h in result.hits)
    result = searcher.search("human trafficking", Filters(doc_types=("international_instrument",), year_from=2001))
    assert result.hits and all(h.doc_type == "international_instrument" and h.year >= 2001 for h in result.hits)


def _small_corpus(tmp_path):
    corpus = copy_subset(tmp_path / "corpus", ["taskforce/cbss-tf-thb-strategic-plan-2012-2014.txt",
                                               "legislation/fi-rikoslaki-1177-2014.txt"])
    return corpus


def _rows(settings):
    conn = connect(settings.index_dir / catalog.DB_NAME, readonly=True)
    try:
        return sorted(tuple(r) for r in conn.execute("SELECT chunk_id, start, end, text FROM chunks"))
    finally:
        conn.close()


def test_reingest_does_no_work_and_changes_nothing(fake_embedder, tmp_path):
    settings = load_settings()
    corpus = _small_corpus(tmp_path)
    first = ingest_paths(settings.index, [corpus])
    assert (first.added, first.unchanged, first.failed) == (2, 0, [])
    before = _rows(settings)
    faiss_before = (settings.index_dir / catalog.FAISS_NAME).read_bytes()
    again = ingest_paths(settings.index, [corpus])
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 2, 0)
    assert _rows(settings) == before
    assert (settings.index_dir / catalog.FAISS_NAME).read_bytes() == faiss_before


def test_changed_file_replaces_its_chunks_and_prune_removes_gone_files(fake_embedder, tmp_path):
    settings = load_settings()
    corpus = _small_corpus(tmp_path)
    ingest_paths(settings.index, [corpus])
    plan = corpus / "taskforce/cbss-tf-thb-strategic-plan-2012-2014.txt"
    plan.write_text(plan.read_text(encoding="utf-8") + "\n\nAddendum\n\nThe zebra crossing protocol was adopted.\n",
                    encoding="utf-8")
    summary = ingest_paths(settings.index, [corpus])
    assert (summary.added, summary.updated, summary.unchanged) == (0, 1, 1)
    searcher = Searcher(settings.search)
    hit = searcher.search("zebra crossing protocol").hits[0]
    assert "zebra crossing protocol" in hit.text
    conn = connect(settings.index_dir / catalog.DB_NAME, readonly=True)
    assert conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 2
    assert searcher.index.ntotal == conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    (corpus / "legislation/fi-rikoslaki-1177-2014.txt").unlink()
    pruned = ingest_paths(settings.index, [corpus], prune=True)
    assert pruned.removed == 1
    assert conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 1
    searcher.refresh()
    assert all(h.doc_path != "legislation/fi-rikoslaki-1177-2014.txt" for h in searcher.search("ihmiskauppa").hits)


def test_index_built_with_another_model_is_refused(fake_embedder, tmp_path):
    settings = load_settings()
    ingest_paths(settings.index, [_small_corpus(tmp_path)])
    path = settings.index_dir / catalog.MANIFEST_NAME
    manifest = json.loads(path.read_text())
    manifest["model"], manifest["dimension"] = "multilingual-e5-small", 384
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match=r"model='multilingual-e5-small'.*thb ingest --rebuild"):
        Searcher(settings.search)
    result = CliRunner().invoke(__import__("ui.cli", fromlist=["cli"]).cli, ["search", "victims"])
    assert result.exit_code == 1
    assert "thb ingest --rebuild" in result.output


@pytest.mark.slow
def test_bundled_corpus_ingests_and_answers(tmp_path):
    settings = load_settings()
    summary = ingest_paths(settings.index, [BUNDLED_CORPUS / "documents"])
    assert (summary.added, summary.failed) == (12, [])
    hit = Searcher(settings.search).search("Which Baltic Sea states see as much labour exploitation as sexual exploitation?").hits[0]
    assert hit.doc_path == "taskforce/cbss-tf-thb-strategic-plan-2020-2025.txt"


@pytest.mark.slow
def test_cli_batch_search_writes_the_score_py_format(session_settings, tmp_path):
    from ui.cli import cli

    queries = tmp_path / "q.jsonl"
    queries.write_text('{"qid": "a", "query": "Menschenhandel Freiheitsstrafe"}\n{"qid": "b", "query": "reflection period"}\n')
    result = CliRunner().invoke(cli, ["--home", str(session_settings.home), "search", "--queries", str(queries),
                                      "-k", "5", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(l) for l in result.output.splitlines() if l.startswith("{")]
    assert [l["qid"] for l in lines] == ["a", "b"]
    keys = {"rank", "score", "chunk_id", "doc_path", "title", "doc_type", "country", "language", "year", "page",
            "section", "text"}
    assert all(keys <= set(h) for l in lines for h in l["hits"])
    assert len(lines[0]["hits"]) == 5


def test_cli_ingest_exit_codes(fake_embedder, tmp_path):
    from ui.cli import cli

    corpus = _small_corpus(tmp_path)
    runner = CliRunner()
    ok = runner.invoke(cli, ["ingest", str(corpus)])
    assert ok.exit_code == 0, ok.output
    assert "2 added" in ok.output
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    bad = runner.invoke(cli, ["ingest", str(corpus)])
    assert bad.exit_code == 1
    assert "broken.pdf" in bad.output and "1 failed" in bad.output
    assert runner.invoke(cli, ["ingest"]).exit_code == 2

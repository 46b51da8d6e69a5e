"""GRETA reports: recognition, paragraph citations, footnotes kept apart, recommendation records,
their store rows, `thb recommendations`, and pairing across rounds.

The reports are fixture PDFs in GRETA's layout (tests/kit/greta_fixtures.py), read by the real pypdf
reader and pipeline. Tests marked slow ingest them with the real model and tagger.
"""
from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner

from ingest import greta
from ingest.cleaning import clean_pages, join_pages
from ingest.documents import DocumentMeta
from ingest.readers import read_document
from tests.kit import greta_fixtures as fx


@pytest.fixture(scope="module")
def fixture_folder(tmp_path_factory):
    return fx.write_corpus(tmp_path_factory.mktemp("greta-corpus"))


def _read(folder, round_):
    path = folder / f"greta-lv-round{round_}.pdf"
    text, starts = join_pages(clean_pages(read_document(path, path.read_bytes()).pages, paged=True))
    return text, starts


def test_report_is_recognised_from_its_front_page_without_a_manifest(fixture_folder):
    text, _ = _read(fixture_folder, 3)
    report = greta.report_of(DocumentMeta("untitled"), text)
    assert (report.country, report.round) == ("LV", 3)  # its code GRETA(2023)05 is a running header, cleaned away
    assert report.label == "GRETA LV 3rd round"
    assert greta.report_of(DocumentMeta("StGB", doc_type="national_legislation"), "§ 232 Menschenhandel") is None


def test_manifest_round_column_is_read_and_its_absence_tolerated(tmp_path):
    from ingest.metadata import read_manifest

    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    (tmp_path / "manifest.tsv").write_text("path\ttitle\tdoc_type\tcountry\tyear\tround\n"
                                           "a.txt\tA\tgreta_report\tLV\t2023\t3rd\n", encoding="utf-8")
    assert read_manifest(tmp_path)[0]["a.txt"].round == 3
    (tmp_path / "manifest.tsv").write_text("path\ttitle\tdoc_type\na.txt\tA\tgreta_report\n", encoding="utf-8")
    assert read_manifest(tmp_path)[0]["a.txt"].round is None


def test_paragraphs_are_units_and_footnotes_stay_out_of_them(fixture_folder):
    text, _ = _read(fixture_folder, 3)
    units = greta.find_units(text, greta.GretaReport("LV", 3))
    assert units[0].start == 0 and units[-1].end == len(text)
    assert all(a.end == b.start for a, b in zip(units, units[1:]))  # every character in one unit
    paragraphs = [u for u in units if u.kind == "paragraph"]
    assert [u.paragraph for u in paragraphs if u.paragraph != paragraphs[0].paragraph][:3] == ["2", "3", "4"]
    assert sorted({int(u.paragraph) for u in paragraphs}) == list(range(1, 20))
    assert "GRETA LV 3rd round, para. 10" in {u.label for u in paragraphs}
    notes = [text[u.start:u.end] for u in units if u.label.endswith("footnotes")]
    assert any(n.startswith("3 Section 12 of the Law on Support for Victims of Crime.") for n in notes)
    for u in paragraphs:
        assert "Section 12 of the Law on Support" not in text[u.start:u.end]
        assert "Questionnaire for the third evaluation round" not in text[u.start:u.end]
    # the table of contents ("1. Right to information .... 9") is not paragraph 1
    assert text[paragraphs[0].start:paragraphs[0].end].startswith("1. The third evaluation round")


def test_a_recommendation_broken_by_a_page_break_and_its_footnote_comes_back_whole(fixture_folder):
    text, starts = _read(fixture_folder, 3)
    report = greta.GretaReport("LV", 3)
    recs = {r.paragraph: r for r in greta.extract_recommendations(text, greta.find_units(text, report), report)}
    split = recs["10"]
    assert split.text == fx.expected_recommendations(3)[3][2]
    assert split.strength == "considers" and split.authorities == ("Latvian authorities",)
    from bisect import bisect_right
    assert bisect_right(starts, split.start) == 4 and bisect_right(starts, split.end - 1) == 5  # pp. 4-5


def test_strength_authorities_articles_of_real_phrasings():
    sentences = greta.recommendation_sentences(
        "The law was changed in 2021. GRETA once again urges the Latvian authorities to review Art. 12 "
        "practice. GRETA considers that the legislation is in line with Article 4 of the Convention. "
        "GRETA considers that the State Police and the Prosecution Office should act (Articles 12 to 14). "
        "GRETA invites the authorities to consider a fund. GRETA further encourages NGOs to report.")
    assert [s for _t, s in sentences] == ["urges", "considers", "invites", "invites"]
    assert sentences[0][0] == "GRETA once again urges the Latvian authorities to review Art. 12 practice."
    assert greta.authorities_of(sentences[1][0]) == ("State Police", "Prosecution Office")
    assert greta.articles_of(sentences[1][0]) == ("12", "13", "14")
    assert greta.articles_of(sentences[0][0]) == ("12",)


def test_extraction_precision_and_recall_on_both_fixture_rounds(fixture_folder):
    for round_ in (2, 3):
        text, _ = _read(fixture_folder, round_)
        report = greta.report_of(DocumentMeta("x", doc_type="greta_report", country="LV", round=round_), text)
        recs = greta.extract_recommendations(text, greta.find_units(text, report), report)
        got = {(r.paragraph, r.strength, r.text) for r in recs}
        want = {(str(n), s, t) for n, s, t in fx.expected_recommendations(round_)}
        assert got == want
        assert all(r.in_appendix and r.source == "body" for r in recs)  # each one found again in Appendix 1


def test_appendix_item_missing_from_the_body_becomes_its_own_record():
    text = ("1. Intro text here.\n2. More text.\n3. Text.\n4. Text.\n5. GRETA urges the authorities to act.\n\n"
            "Appendix 1 - List of GRETA's conclusions and proposals for action\n"
            "► GRETA urges the authorities to act. (paragraph 5)\n"
            "► GRETA invites the authorities to consider a hotline. (paragraph 3)\n")
    report = greta.GretaReport("LV", 3)
    recs = greta.extract_recommendations(text, greta.find_units(text, report), report)
    assert [(r.paragraph, r.strength, r.source, r.in_appendix) for r in recs] == [
        ("5", "urges", "body", True), ("3", "invites", "appendix", True)]


def test_link_rounds_pairs_one_to_one_above_the_threshold():
    from search.rounds import link_rounds

    class R:
        def __init__(self, rec_id, round_):
            self.rec_id, self.round = rec_id, round_

    cur, prev = [R(1, 3), R(2, 3), R(3, 3)], [R(10, 2), R(11, 2)]
    vec = {1: [1, 0, 0], 2: [0.95, 0.3122, 0], 3: [0, 0, 1], 10: [1, 0, 0], 11: [0, 1, 0]}
    vec = {k: np.asarray(v, dtype=np.float32) / np.linalg.norm(v) for k, v in vec.items()}
    links = link_rounds(cur, prev, vec, threshold=0.8)
    assert [(ln.rec.rec_id, ln.status) for ln in links] == [(1, "repeated"), (2, "new"), (3, "new"), (11, "no longer made")]
    assert links[0].label == "repeated from round 2" and links[0].previous.rec_id == 10


def test_a_schema_3_store_is_migrated_and_still_reads_read_only(tmp_path):
    from index import store

    db = tmp_path / "thb.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript(";\n".join(store.MIGRATIONS[v] for v in (1, 2, 3)) +
                       ";\nINSERT INTO meta VALUES ('schema_version', '3'); INSERT INTO meta VALUES ('generation', '0');")
    conn.execute("INSERT INTO documents VALUES ('d1','T','report','','LV','en',2020,1,'hello world','[0]',0,0)")
    conn.execute("INSERT INTO chunks (chunk_id, doc_id, ordinal, start, end, page_start, page_end, section, paragraph, "
                 "language, text, embedding) VALUES ('d1:0','d1',0,0,11,1,1,'','','en','hello world',x'00')")
    conn.commit()
    conn.close()
    ro = store.connect(db, readonly=True)  # a searcher on an index nobody has migrated yet
    chunk = store.fetch_chunks(ro, [1])[1]
    assert (chunk.ocr, chunk.strength) == (False, "")
    from index.recommendations import list_recommendations
    assert list_recommendations(ro) == []
    ro.close()
    rw = store.connect(db)
    assert store.schema_version(rw) == store.SCHEMA_VERSION >= 4
    assert store.has_table(rw, "recommendations") and store.has_table(rw, "ocr_pages")
    assert rw.execute("SELECT text FROM chunks").fetchone()[0] == "hello world"


@pytest.fixture(scope="module")
def greta_index(fixture_folder, tmp_path_factory):
    from index.builder import ingest_paths
    from ui.settings import load_settings

    settings = load_settings(home=tmp_path_factory.mktemp("greta-home"), multilingual="off")
    summary = ingest_paths(settings.index, [fixture_folder])
    return settings, summary


@pytest.mark.slow
def test_ingested_report_cites_paragraph_and_page_and_stores_its_recommendations(greta_index):
    from search.engine import Searcher
    from search.hits import Filters

    settings, summary = greta_index
    assert not summary.failed and summary.recommendations == 16
    assert "16 GRETA recommendations" in summary.line()
    searcher = Searcher(settings.search)
    hit = searcher.search("State Labour Inspectorate role in identifying victims", top_k=3).hits[0]
    assert "GRETA LV 3rd round, para. 7, p. 4" in hit.citation and hit.strength == "urges"
    only = searcher.search("victims of trafficking", Filters(strengths=("invites",)), top_k=10).hits
    assert only and {h.strength for h in only} == {"invites"}
    assert "Section 12 of the Law on Support" not in " ".join(
        h.text for h in searcher.search("specialised lawyer legal aid free of charge", top_k=5).hits
        if "para." in h.section)


@pytest.mark.slow
def test_thb_recommendations_lists_filters_and_compares_rounds(greta_index):
    from ui.cli import cli

    settings, _summary = greta_index
    run = lambda *args: CliRunner().invoke(cli, ["--home", str(settings.home), "recommendations", *args])  # noqa: E731
    out = run("--country", "LV", "--strength", "urges", "--round", "3", "--format", "jsonl")
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert [r["paragraph"] for r in rows] == ["5", "7", "11", "16", "19"]
    assert rows[1]["citation"] == "GRETA LV 3rd round, para. 7, p. 4" and rows[1]["articles"] == ["10"]
    assert rows[2]["authorities"] == ["State Police", "Prosecution Office"]
    assert all(r["priorities"] is not None for r in rows)
    csv_out = run("--country", "LV", "--format", "csv")
    assert csv_out.output.splitlines()[0].startswith("citation,country,round") and len(csv_out.output.splitlines()) == 17
    text = run("--country", "LV", "--across-rounds").output
    assert text.count("[repeated from round 2]") == 3 and text.count("[no longer made]") == 2
    assert run("--strength", "strongly").exit_code == 2
    assert run("--across-rounds").exit_code == 2
    found = CliRunner().invoke(cli, ["--home", str(settings.home), "search", "victims of trafficking", "--strength",
                                     "urges", "--json"])
    hits = json.loads(found.output)["hits"]
    assert hits and {h["strength"] for h in hits} == {"urges"} and all("para." in h["citation"] for h in hits)

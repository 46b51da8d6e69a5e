"""Chunk roles on real documents of ../shared/corpus, chunked by the project's own pipeline
(reader, cleaning, structure, MiniLM tokenizer); no embedding model is loaded.

The chunks are made by the steps of `ingest.pipeline.prepare_document` except the sentence split
(spaCy, 15 s to load), which roles do not read."""
from __future__ import annotations

import functools

import pytest

from index.embedder import model_dir
from ingest.chunking import Chunker
from ingest import greta
from ingest.cleaning import clean_pages, join_pages
from ingest.documents import Document
from ingest.metadata import read_manifest, short_title
from ingest.readers import read_document
from ingest.roles import ROLES, chunk_role, document_role_calls, document_roles
from ingest.structure import find_units
from tests.kit import greta_fixtures
from tests.conftest import require_shared_corpus

CETS197 = "international/coe-cets197-convention-action-against-trafficking.txt"


@functools.lru_cache(maxsize=None)
def _chunker() -> Chunker:
    return Chunker(model_dir("all-MiniLM-L6-v2"), chunk_tokens=200, overlap_tokens=40, label_tokens=32)


@functools.lru_cache(maxsize=None)
def _roles(rel: str, root=None):
    """(chunk, role, cue) for every chunk of a shared-corpus file (or of a file under `root`)."""
    root = root or require_shared_corpus()
    meta = read_manifest(root)[0][rel]
    path = root / rel
    raw = read_document(path, path.read_bytes(), page_timeout_s=20, ocr="off", language=meta.language)
    text, starts = join_pages(clean_pages(raw.pages, paged=raw.paged))
    doc = Document("d", rel, str(path), meta, text, page_starts=starts if raw.paged else ())
    report = greta.report_of(meta, text)
    units = greta.find_units(text, report) if report else find_units(text, short_title=short_title(meta))
    chunks = _chunker().chunk_document(doc, units)
    calls = document_role_calls(doc, chunks)
    assert document_roles(doc, chunks) == [c.role for c in calls]
    return tuple((chunk, call.role, call.cue) for chunk, call in zip(chunks, calls))


def _roles_of(rel: str, section_start: str) -> set[str]:
    found = {role for chunk, role, _cue in _roles(rel)
             if chunk.section == section_start or chunk.section.startswith(section_start + " ")}
    assert found, f"no chunk of {rel} has a section starting {section_start!r}"
    return found


def test_cets197_preamble_chunks_before_article_1_are_preamble():
    rows = _roles(CETS197)
    first_article = next(i for i, (chunk, _r, _c) in enumerate(rows) if "Article 1" in chunk.section)
    preamble = rows[:first_article]
    assert len(preamble) >= 4
    assert {role for _chunk, role, _cue in preamble} == {"preamble"}, [(c.text[:40], r) for c, r, _ in preamble]
    # The recital naming earlier recommendations ("R (2000) 11 ...") is preamble too.
    assert any(chunk.text.startswith("R (2000) 11") for chunk, _r, _c in preamble)


@pytest.mark.parametrize("article, role", [
    ("CETS 197 Article 4 Definitions", "definition"),
    ("CETS 197 Article 6 Measures to discourage the demand", "operative"),
    ("CETS 197 Article 10 Identification of the victims", "operative"),
    ("CETS 197 Article 13 Recovery and reflection period", "operative"),
    ("CETS 197 Article 18 Criminalisation of trafficking in human beings", "penalty"),
    ("CETS 197 Article 19 Criminalisation of the use of services of a victim", "penalty"),
    ("CETS 197 Article 23 Sanctions and measures", "penalty"),
    ("CETS 197 Article 24 Aggravating circumstances", "penalty"),
    ("CETS 197 Article 31 Jurisdiction", "operative"),  # names ratification and accession, still operative
    ("CETS 197 Article 42 Signature and entry into force", "final_clause"),
    ("CETS 197 Article 43 Accession to the Convention", "final_clause"),
    ("CETS 197 Article 44 Territorial application", "final_clause"),
    ("CETS 197 Article 45 Reservations", "final_clause"),
    ("CETS 197 Article 46 Denunciation", "final_clause"),
    ("CETS 197 Article 47 Notification", "final_clause"),
])
def test_cets197_articles_get_the_role_of_what_they_do(article, role):
    assert _roles_of(CETS197, article) == {role}


@pytest.mark.parametrize("rel, section, role", [
    ("international/un-palermo-trafficking-protocol-2000.txt", "Palermo Protocol Article 3 Use of terms", "definition"),
    # No article titles in ILO conventions: the text decides.
    ("international/ilo-c029-forced-labour-convention-1930.txt", "ILO C29 Article 2", "definition"),
    ("international/ilo-c029-forced-labour-convention-1930.txt", "ILO C29 Article 25", "penalty"),
    ("international/ilo-c029-forced-labour-convention-1930.txt", "ILO C29 Article 30", "final_clause"),
    ("international/ilo-c029-forced-labour-convention-1930.txt", "ILO C29 Article 33", "final_clause"),
    # "For the purpose of this Article the term ... shall not include" does not make Art. 4 a definitions article.
    ("international/coe-echr-convention-human-rights.txt", "ECHR Article 4", "operative"),
    ("international/coe-echr-convention-human-rights.txt", "ECHR Article 58", "final_clause"),
])
def test_treaty_provisions_without_or_with_titles(rel, section, role):
    assert _roles_of(rel, section) == {role}


@pytest.mark.parametrize("rel, section", [
    # The two whole codes take ~10 s to chunk: the full suite only.
    pytest.param("legislation/de-stgb-strafgesetzbuch.txt", "StGB § 232 Menschenhandel", marks=pytest.mark.slow),
    pytest.param("legislation/de-stgb-strafgesetzbuch.txt", "StGB § 233 Ausbeutung der Arbeitskraft",
                 marks=pytest.mark.slow),
    pytest.param("legislation/no-straffeloven-2005.txt", "straffeloven § 257 Menneskehandel", marks=pytest.mark.slow),
    ("legislation/se-brottsbalken-1962-700-excerpt-4kap-6kap.txt", "BrB 4 kap. 1 a §"),
    ("legislation/fi-rikoslaki-1177-2014.txt", "Laki rikoslain muuttamisesta 1177/2014 25 luku 3 §"),
    ("legislation/pl-kodeks-karny-excerpt.txt", "Kodeks karny Art. 189a"),
    ("legislation/lv-kriminallikums-ch15.txt", "Krimināllikums 154.1 pants"),
    ("legislation/is-almenn-hegningarlog-ch24.txt", "Almenn hegningarlög nr. 19/1940 227. gr. a."),
])
def test_trafficking_offences_are_penalty_in_every_language(rel, section):
    roles = _roles_of(rel, section)
    # A chunk holding only the amendment history under a provision is a footnote, not the offence.
    assert roles - {"references"} == {"penalty"}, roles


@pytest.mark.slow
def test_a_short_offence_with_its_amendment_note_is_penalty_not_a_footnote():
    rows = _roles("legislation/no-straffeloven-2005.txt")
    drap = [(chunk.text, role) for chunk, role, _cue in rows if chunk.section == "straffeloven § 275 Drap"]
    assert drap and "Tilføyd ved lov" in drap[0][0] and {role for _t, role in drap} == {"penalty"}
    notes = [role for chunk, role, _cue in rows if chunk.text.startswith(("Endret ved lov", "Tilføyd ved lov"))]
    assert notes and set(notes) == {"references"}


@pytest.mark.slow
def test_stgb_front_matter_and_definitions():
    rows = _roles("legislation/de-stgb-strafgesetzbuch.txt")
    assert rows[0][1] == "front_matter" and "Ausfertigungsdatum" in rows[0][0].text
    assert _roles_of("legislation/de-stgb-strafgesetzbuch.txt", "StGB § 11 Personen- und Sachbegriffe") == {"definition"}
    assert _roles_of("legislation/de-lksg-lieferkettensorgfaltspflichtengesetz.txt",
                     "LkSG § 2 Begriffsbestimmungen") == {"definition"}


def test_an_article_defining_one_notion_is_definition():
    # "Cilvēku tirdzniecības jēdziens": the notion of trafficking, defined by 154.2 for 154.1
    roles = _roles_of("legislation/lv-kriminallikums-ch15.txt", "Krimināllikums 154.2 pants Cilvēku tirdzniecības jēdziens")
    assert roles - {"references"} == {"definition"}, roles


@pytest.mark.parametrize("rel, starts", [
    ("legislation/pl-kodeks-karny-excerpt.txt", "EXCERPT: Kodeks karny"),
    ("legislation/lv-kriminallikums-ch15.txt", "EXCERPT: Krimināllikums"),
    ("legislation/fi-rikoslaki-650-2004.txt", "WHOLE ACT: Laki rikoslain muuttamisesta"),
    ("legislation/se-brottsbalken-1962-700-excerpt-4kap-6kap.txt", "Brottsbalk (1962:700)"),  # "[Utdrag: ...]"
])
def test_an_excerpts_editorial_note_is_editorial_note(rel, starts):
    chunk, role, cue = _roles(rel)[0]
    assert chunk.text.startswith(starts)
    assert role == "editorial_note", cue


def test_report_and_plan_text_is_body():
    for rel in ("reports/se-gov-2024-04-prevent-combat-prostitution-trafficking.txt",
                "taskforce/cbss-tf-thb-strategic-plan-2020-2025.txt"):
        assert {role for _c, role, _cue in _roles(rel)} == {"body"}, rel


@pytest.mark.slow
def test_pdf_table_of_contents_tables_and_references():
    rows = _roles("pdf/hti-human-trafficking-indicators-codebook-2013.pdf")
    toc = [role for chunk, role, _cue in rows if chunk.page_start == 2]
    assert toc and set(toc) == {"toc"}
    # Page 3 keeps the "TABLE OF CONTENTS" label from the structure finder, but it is the introduction.
    intro = [role for chunk, role, _cue in rows if chunk.text.startswith("Introduction\nThe Human Trafficking")]
    assert intro == ["body"]
    sources = [role for chunk, role, _cue in rows if "Ratification dates taken from" in chunk.text]
    assert sources and set(sources) == {"references"}
    fbi = _roles("pdf/fbi-ucr-human-trafficking-2014.pdf")
    tables = [role for chunk, role, _cue in fbi if chunk.text.startswith("Table ")]
    assert len(tables) >= 4 and set(tables) == {"table"}
    assert fbi[0][1] == "body"  # the report's opening prose


def test_greta_report_parts(tmp_path):
    """A GRETA look-alike (tests/greta_fixtures.py; no real report can be fetched here): contents,
    numbered paragraphs, page-foot footnotes and the appendix of conclusions."""
    root = greta_fixtures.write_corpus(tmp_path, rounds=(3,))
    rows = _roles("greta-lv-round3.pdf", root)
    by_section = {}
    for chunk, role, _cue in rows:
        by_section.setdefault(chunk.section, set()).add(role)
    assert rows[1][1] == "toc" and "...." in rows[1][0].text
    assert by_section["GRETA LV 3rd round, footnotes"] == {"references"}
    assert by_section["GRETA LV 3rd round, Appendix 1"] == {"annex"}
    paragraphs = {s for s in by_section if ", para. " in s}
    assert len(paragraphs) >= 15 and all(by_section[s] == {"body"} for s in paragraphs)


def test_every_chunk_gets_one_known_role():
    for rel in (CETS197, "legislation/se-brottsbalken-1962-700-excerpt-4kap-6kap.txt"):
        assert {role for _c, role, _cue in _roles(rel)} <= set(ROLES)


def test_the_section_label_comes_before_the_text():
    text = "1. This Convention shall be open for signature by the member States of the Council of Europe."
    assert chunk_role(text, section="CETS 197 Article 42 Signature and entry into force",
                      doc_type="international_instrument", position=0.9) == "final_clause"
    assert chunk_role(text, section="", doc_type="report", position=0.9) == "body"
    recital = "Considering that trafficking in human beings may result in slavery for victims;"
    assert chunk_role(recital, section="CETS 197", doc_type="international_instrument", position=0.02) == "preamble"
    assert chunk_role(recital, section="CETS 197 Article 5 Prevention", doc_type="international_instrument",
                      position=0.2) == "operative"

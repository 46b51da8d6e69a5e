"""Structure-aware chunking on real legislation: units, labels, boundaries, token budget."""
from __future__ import annotations

import pytest

from index.embedder import model_dir
from ingest.chunking import Chunker
from ingest.cleaning import clean_pages, drop_running_lines, join_pages
from ingest.documents import Document, DocumentMeta
from ingest.structure import find_units
from tests.conftest import require_shared_corpus


@pytest.fixture(scope="module")
def chunker():
    return Chunker(model_dir("all-MiniLM-L6-v2"), chunk_tokens=200, overlap_tokens=40, label_tokens=32)


def _chunks(chunker, rel: str, short_title: str, language: str):
    text = (require_shared_corpus() / rel).read_text(encoding="utf-8")
    doc = Document("d", rel, rel, DocumentMeta("t", "national_legislation", language=language), text)
    return doc, chunker.chunk_document(doc, find_units(text, short_title=short_title))


def test_stgb_232_is_labelled_and_does_not_run_into_232a(chunker):
    doc, chunks = _chunks(chunker, "legislation/de-stgb-strafgesetzbuch.txt", "StGB", "de")
    s232 = [c for c in chunks if c.section == "StGB § 232 Menschenhandel"]
    assert s232, "no chunk labelled StGB § 232 Menschenhandel"
    assert "§ 232 Menschenhandel\n\n(1) Mit Freiheitsstrafe" in s232[0].text
    start_232a = doc.text.index("\n§ 232a Zwangsprostitution") + 1
    assert all(c.end <= start_232a for c in s232)
    assert not any("§ 232a Zwangsprostitution" in c.text for c in s232)


@pytest.mark.parametrize("rel, short, lang, label", [
    ("legislation/no-straffeloven-2005.txt", "straffeloven", "nb", "straffeloven § 257 Menneskehandel"),
    ("legislation/se-brottsbalken-1962-700-excerpt-4kap-6kap.txt", "BrB", "sv", "BrB 4 kap. 1 a §"),
    ("international/coe-cets197-convention-action-against-trafficking.txt", "CETS 197", "en",
     "CETS 197 Article 13 Recovery and reflection period"),
    ("legislation/is-almenn-hegningarlog-ch24.txt", "", "is", "227. gr. a."),
    ("legislation/lv-kriminallikums-ch15.txt", "", "lv", "154.1 pants Cilvēku tirdzniecība"),
    ("legislation/pl-kodeks-karny-excerpt.txt", "", "pl", "Art. 189a"),
])
def test_legal_units_get_their_citation_label(chunker, rel, short, lang, label):
    _doc, chunks = _chunks(chunker, rel, short, lang)
    assert label in {c.section for c in chunks}


def test_chunks_fit_the_model_window_and_offsets_are_exact(chunker):
    doc, chunks = _chunks(chunker, "legislation/de-stgb-strafgesetzbuch.txt", "StGB", "de")
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        assert chunker.count_tokens(c.embedding_text) <= 256 - 2
    # A long provision is cut into several chunks that overlap a little.
    s232 = [c for c in chunks if c.section == "StGB § 232 Menschenhandel"]
    assert len(s232) >= 2 and s232[1].start < s232[0].end


def test_no_chunk_is_only_a_heading(chunker):
    _doc, chunks = _chunks(chunker, "international/coe-cets197-convention-action-against-trafficking.txt",
                           "CETS 197", "en")
    art13 = [c for c in chunks if c.section.startswith("CETS 197 Article 13")]
    assert "at least 30 days" in art13[0].text


def test_cleaning_joins_hyphenation_maps_bullets_and_drops_running_lines():
    words = ["berries", "forestry", "cleaning", "construction", "restaurants"]
    pages = tuple(f"GRETA(2023)05 - Report on Finland\nIn {w} the victims were traf-\nficked for labour.\n"
                  f"\uf0b7 point {n} of the list\nMore on {w}.\n{n}" for n, w in enumerate(words, 1))
    cleaned = clean_pages(pages, paged=True)
    assert all("trafficked for labour" in p for p in cleaned)
    assert all(f"• point {n} of the list" in p for n, p in enumerate(cleaned, 1))
    assert not any("GRETA(2023)05" in p for p in cleaned)
    assert not any(p.rstrip().endswith(("1", "2", "3")) for p in cleaned)
    text, starts = join_pages(cleaned)
    assert starts[0] == 0 and text[starts[2]:].startswith(cleaned[2])


def test_running_lines_that_appear_on_few_pages_are_kept():
    pages = ("Title page\nbody one", "Report\nbody two", "Report\nbody three", "Other\nbody four",
             "Annex\nbody five", "Foot\nbody six")
    assert drop_running_lines(pages) == pages


def _units_of(rel: str, short: str = "X", with_text: bool = False):
    from pathlib import Path

    from ingest.readers import read_document

    path = Path(require_shared_corpus()) / rel
    raw = read_document(path, path.read_bytes())
    text, _ = join_pages(clean_pages(raw.pages, paged=raw.paged))
    units = find_units(text, short_title=short)
    return (units, text) if with_text else units


def test_wrapped_lines_naming_an_abschnitt_are_not_chapter_labels():
    """LkSG line 303 "diesem Abschnitt festgelegten ..." and ProstSchG "oder Abschnitt 5 ..." were
    chapter labels: the passage they start is cited by its § now."""
    units, text = _units_of("legislation/de-lksg-lieferkettensorgfaltspflichtengesetz.txt", "LkSG", with_text=True)
    prost = [u.label for u in _units_of("legislation/de-prostschg-prostituiertenschutzgesetz.txt", "ProstSchG")]
    assert not [u.label for u in units if "diesem Abschnitt" in u.label] + [l for l in prost if "oder Abschnitt" in l]
    at = text.index("diesem Abschnitt festgelegten")
    holder = next(u for u in units if u.start <= at < u.end)
    assert holder.label.startswith("LkSG § "), holder.label
    stgb = [u.label for u in _units_of("legislation/de-stgb-strafgesetzbuch.txt", "StGB")]
    assert "StGB § 232 Menschenhandel" in stgb


def test_pdf_table_rows_are_not_headings_in_the_polaris_hotline_report():
    """Polaris 2021: table rows "% # % # %" and "# of Situations % of Situations" became section labels."""
    labels = [u.label for u in _units_of("pdf/polaris-2021-hotline-data-analysis.pdf", "")]
    assert not [l for l in labels if "%" in l or l.startswith("of ")], labels
    assert labels, "the report still has its real headings"

"""OCR of scanned PDFs: real corpus pages set as images, ingested, read back, found by a question."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ingest import ocr
from ingest.errors import SettingsError, UnreadableDocument
from ingest.settings import IngestSettings
from ui.settings import load_settings
from tests.conftest import require_shared_corpus

needs_tesseract = pytest.mark.skipif(bool(ocr.missing_tools()),
                                     reason=f"input absent: OCR tools not installed ({ocr.INSTALL_COMMAND})")

# language -> (question, words of the page the top hit must show)
QUESTIONS = {
    "en": ("What are the benefits of the NIBRS?", "NIBRS"),
    "de": ("Keine Strafe ohne Gesetz zeitliche Geltung", "Strafbarkeit"),
    "sv": ("människorov bortföra ett barn", "människorov"),
    "pl": ("ocena stopnia społecznej szkodliwości czynu", "szkodliwości"),
}


def test_unknown_ocr_mode_is_refused_with_the_allowed_ones(monkeypatch):
    with pytest.raises(SettingsError, match="use one of auto, off, force"):
        IngestSettings(ocr="sometimes")
    monkeypatch.setenv("THB_OCR", "yes")
    with pytest.raises(SettingsError, match="unknown OCR mode 'yes'"):
        load_settings()


def test_auto_reads_only_pages_without_text_and_force_reads_all():
    pages = ["A page with a real text layer, long enough.", "  ", "12", "Another page with text on it."]
    assert ocr.pages_to_read(pages, "auto") == [2, 3]
    assert ocr.pages_to_read(pages, "force") == [1, 2, 3, 4]
    assert ocr.pages_to_read(pages, "off") == []


def test_iso_codes_map_to_installed_debian_packs():
    assert {ocr.tesseract_language(c) for c in ("en", "de", "sv", "nb", "da", "fi", "et", "lv", "lt", "pl", "is")} \
        == {"eng", "deu", "swe", "nor", "dan", "fin", "est", "lav", "lit", "pol", "isl"}
    assert ocr.tesseract_language("xx") is None


def test_scanned_pdf_without_tesseract_says_how_to_install(tmp_path, monkeypatch):
    from ingest.readers import read_document
    from tests.ingest.test_bad_input import image_only_pdf

    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract, no pdftoppm on this PATH
    with pytest.raises(UnreadableDocument) as err:
        read_document(tmp_path / "scan.pdf", image_only_pdf(), ocr="auto")
    assert err.value.reason.startswith("no text layer (scanned?); OCR needs tesseract, pdftoppm: apt-get install ")
    assert "tesseract-ocr-lav" in err.value.reason and "poppler-utils" in err.value.reason
    with pytest.raises(UnreadableDocument) as err:
        read_document(tmp_path / "scan.pdf", image_only_pdf(), ocr="off")
    assert err.value.reason == "no text layer (scanned?)"


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    """Image-only PDFs of an English PDF page and of German, Swedish and Polish law, with a manifest
    (Polish without a language, so OCR detects it)."""
    if ocr.missing_tools():
        pytest.skip(f"input absent: OCR tools not installed ({ocr.INSTALL_COMMAND})")
    from bench.ocr import scan_cases

    require_shared_corpus()
    folder = tmp_path_factory.mktemp("scans")
    cases = {c.language: c for c in scan_cases(folder, list(QUESTIONS))}
    rows = "".join(f"{c.pdf.name}\tScan of {c.source}\treport\t\t\t{'' if lang == 'pl' else lang}\t\n"
                   for lang, c in cases.items())
    (folder / "manifest.tsv").write_text("path\ttitle\tdoc_type\tissuer\tcountry\tlanguage\tyear\n" + rows,
                                         encoding="utf-8")
    return folder, cases


@pytest.fixture(scope="module")
def scan_index(scans, tmp_path_factory):
    from index.builder import ingest_paths

    folder, _cases = scans
    settings = load_settings(home=tmp_path_factory.mktemp("ocr-home"), multilingual="off")
    pages = []
    summary = ingest_paths(settings.index, [folder], progress=lambda items, desc: pages.append(desc) or items)
    return settings, summary, pages


@pytest.mark.slow
@needs_tesseract
def test_ocr_text_of_real_pages_comes_back(scans, scan_index):
    from bench.ocr import similarity
    from index import catalog, store

    _folder, cases = scans
    settings, summary, progress_bars = scan_index
    assert not summary.failed, summary.failed
    assert summary.ocr_pages == 4 and summary.ocr_seconds > 0
    assert "4 pages by OCR in" in summary.line()
    assert progress_bars.count("OCR pages") == 4  # per-page progress, one bar per scanned file
    conn = store.connect(settings.index_dir / catalog.DB_NAME, readonly=True)
    rows = conn.execute("SELECT p.doc_path, d.text, d.language FROM documents d JOIN paths p USING (doc_id)").fetchall()
    assert conn.execute("SELECT COUNT(*) FROM ocr_pages").fetchone()[0] == 4
    for path, text, language in rows:
        lang = path.removeprefix("scan-").removesuffix(".pdf")
        assert similarity(text, cases[lang].text) >= 0.95, (lang, similarity(text, cases[lang].text))
    assert dict((p, lang) for p, _t, lang in rows)["scan-pl.pdf"] == "pl"  # detected from the OCR text


@pytest.mark.slow
@needs_tesseract
def test_a_known_question_finds_the_scanned_page_cited_as_ocr(scan_index):
    from search.engine import Searcher

    settings, _summary, _bars = scan_index
    searcher = Searcher(settings.search)
    for lang, (question, words) in QUESTIONS.items():
        top = searcher.search(question, top_k=3).hits[0]
        assert top.doc_path == f"scan-{lang}.pdf", (lang, [h.doc_path for h in searcher.search(question).hits])
        assert words in top.text
        assert top.ocr and top.citation.endswith("p. 1 (OCR)"), top.citation


@pytest.mark.slow
@needs_tesseract
def test_off_leaves_a_scan_unread_and_force_reads_a_text_page(scans, tmp_path):
    from index.builder import ingest_paths

    folder, cases = scans
    one = tmp_path / "one"
    one.mkdir()
    shutil.copyfile(cases["de"].pdf, one / "scan-de.pdf")
    summary = ingest_paths(load_settings(home=tmp_path / "h1", ocr="off", multilingual="off").index, [one], tagger=False)
    assert summary.failed == [(str(one / "scan-de.pdf"), "no text layer (scanned?)")]
    pages = ocr.ocr_pdf_pages((Path(require_shared_corpus()) / "pdf/fbi-ucr-human-trafficking-2014.pdf").read_bytes(),
                              [11], "en")
    assert "NIBRS" in pages[0].text and pages[0].language == "eng"
    assert os.environ.get("OMP_THREAD_LIMIT") is None  # tesseract's thread limit is set for the child only

"""Citations of PDF pages: printed page labels, and the passage boxed on the rendered page."""
from __future__ import annotations

import shutil

import pytest

from ingest.cleaning import clean_pages
from ingest.readers import read_document
from tests.conftest import require_shared_corpus
from ui.app_pdf import page_citation, passage_boxes, read_page_labels, render_page_png


def test_the_printed_page_label_is_cited_beside_the_pdf_page_of_unodc_glotip():
    """The GLOTIP 2024 chapter starts at printed page 65: its PDF p. 37 is p. 101 in the book."""
    labels = read_page_labels(require_shared_corpus() / "pdf" / "unodc-glotip-2024-chapter2-africa.pdf")
    assert labels[:2] == ("65", "66") and len(labels) == 45
    assert page_citation(37, None, labels) == "p. 101 (PDF p. 37)"
    assert page_citation(4, 5, labels) == "pp. 68-69 (PDF pp. 4-5)"


def test_pages_whose_label_is_their_number_are_cited_once():
    labels = read_page_labels(require_shared_corpus() / "pdf" / "fbi-ucr-human-trafficking-2014.pdf")
    assert page_citation(3, None, labels) == "p. 3" and page_citation(2, 3, labels) == "pp. 2-3"
    assert page_citation(3, None, ()) == "p. 3"


@pytest.mark.slow
def test_the_passage_is_boxed_on_the_rendered_page():
    """Boxes come from pypdf's text positions, matched on letters and digits to the cleaned
    passage: all of it is covered, the boxes sit in the page's right-hand column, and
    pdftoppm renders the page."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("input absent: poppler-utils' pdftoppm is not installed")
    pdf = require_shared_corpus() / "pdf" / "unodc-glotip-2024-chapter2-africa.pdf"
    raw = read_document(pdf, pdf.read_bytes())
    page_text = clean_pages(raw.pages, paged=True)[3]
    start = page_text.index("Data collected globally")
    passage = page_text[start:page_text.index("labour.", start) + len("labour.")]
    boxes, covered = passage_boxes(str(pdf), 4, passage)
    assert covered == pytest.approx(1.0)
    assert 4 <= len(boxes) <= 6  # the passage's five printed lines
    assert all(0.5 < left < 0.55 and 0.2 < top < 0.35 and 0 < w <= 0.5 for left, top, w, _h in boxes)
    png = render_page_png(str(pdf), 4, 0.0)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"

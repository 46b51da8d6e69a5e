"""Text cleaning on the real documents where the residue occurs."""
from __future__ import annotations

import re

import pytest

from ingest.cleaning import clean_pages, join_pages, strip_markup
from ingest.readers import read_document
from tests.conftest import BUNDLED_CORPUS, require_shared_corpus


def _cleaned(path) -> str:
    raw = read_document(path, path.read_bytes())
    return join_pages(clean_pages(raw.pages, paged=raw.paged))[0]


@pytest.mark.slow  # a whole real PDF through the PDF worker process
def test_pdf_hyphenation_set_off_by_a_space_is_joined_in_unodc_glotip():
    """UNODC GLOTIP 2024 ch. 2 prints "traf -⏎ficking", "con -⏎ducted": once shown as "traf - ficking"."""
    pdf = require_shared_corpus() / "pdf" / "unodc-glotip-2024-chapter2-africa.pdf"
    raw = read_document(pdf, pdf.read_bytes())
    assert re.search(r"traf -\n\s*ficking", raw.pages[3]), "the input no longer holds the case"
    text = _cleaned(pdf)
    assert not re.search(r"traf\s+-\s+ficking", text)
    assert not re.search(r"con\s+-\s+ducted", text)
    assert "trafficking" in text and "conducted" in text
    # A dash between two words stays one ("Crime -⏎association" is not a word of its own).
    assert re.search(r"Crime -\s+association", text)


def test_markdown_residue_is_stripped_from_the_2012_strategic_plan():
    plan = BUNDLED_CORPUS / "documents" / "taskforce" / "cbss-tf-thb-strategic-plan-2012-2014.txt"
    assert "### **Strategic plan 2012-2014<sup>1</sup>**" in plan.read_text(encoding="utf-8")
    text = _cleaned(plan)
    assert "\nStrategic plan 2012-2014¹\n" in text
    assert not re.search(r"#{2,}|\*\*|</?sup>", text)
    assert "\nBackground and context\n" in text


def test_strip_markup_keeps_single_asterisks_and_hashes_inside_lines():
    assert strip_markup("#### **Title**\nSee note * and item #3 __under__") == "Title\nSee note * and item #3 under"

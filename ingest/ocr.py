"""OCR of PDF pages without a text layer: poppler's pdftoppm renders a page, tesseract reads it.

Debian 12 packages tesseract with trained data for every Task Force language; the document's
language (manifest, else detected from a first English pass) picks the model, since the English
model alone reads Latvian, Polish or Icelandic far worse. `THB_OCR`: auto (pages without a text
layer), force (every page), off.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import SettingsError

log = logging.getLogger(__name__)

OCR_MODES = ("auto", "off", "force")
# ISO 639-1 (as in the manifest) -> tesseract trained-data name (Debian tesseract-ocr-<name>).
TESSERACT_LANGUAGES = {
    "en": "eng", "de": "deu", "sv": "swe", "nb": "nor", "nn": "nor", "no": "nor", "da": "dan",
    "fi": "fin", "et": "est", "lv": "lav", "lt": "lit", "pl": "pol", "is": "isl",
}
DEBIAN_PACKAGES = ("tesseract-ocr", *sorted({f"tesseract-ocr-{c}" for c in TESSERACT_LANGUAGES.values()}),
                   "poppler-utils")
INSTALL_COMMAND = "apt-get install " + " ".join(DEBIAN_PACKAGES)
# A page whose text layer holds fewer visible characters than this is treated as a scan.
MIN_TEXT_CHARS = 20
# 300 dpi: tesseract's documented sweet spot for body text (tessdoc "ImproveQuality").
RENDER_DPI = 300
PAGE_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class OcrPage:
    """One page read by OCR: 1-based number, text, tesseract language and the seconds it took."""

    number: int
    text: str
    language: str
    seconds: float


def check_mode(mode: str) -> str:
    """The mode, or SettingsError naming the allowed ones."""
    if mode not in OCR_MODES:
        raise SettingsError(f"unknown OCR mode {mode!r} (THB_OCR): use one of {', '.join(OCR_MODES)}")
    return mode


def missing_tools() -> list[str]:
    """Programs OCR needs that are not on PATH (empty: OCR works)."""
    return [tool for tool in ("tesseract", "pdftoppm") if shutil.which(tool) is None]


def installed_languages() -> set[str]:
    """tesseract trained-data names installed here (eng, deu, ...)."""
    try:
        out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {line.strip() for line in out.splitlines()[1:] if line.strip()}


def tesseract_language(iso: str) -> str | None:
    """tesseract's name for an ISO 639-1 code, when that pack is known."""
    return TESSERACT_LANGUAGES.get((iso or "").lower())


def pages_to_read(page_texts: list[str], mode: str) -> list[int]:
    """1-based numbers of the pages OCR should read under `mode`."""
    if mode == "force":
        return list(range(1, len(page_texts) + 1))
    if mode == "auto":
        return [i for i, text in enumerate(page_texts, start=1) if len(text.strip()) < MIN_TEXT_CHARS]
    return []


def ocr_pdf_pages(data: bytes, numbers: list[int], language: str = "", progress=None) -> list[OcrPage]:
    """OCR the given pages of a PDF; with no known language, detect it from a first English pass."""
    if not numbers:
        return []
    available = installed_languages()
    lang = tesseract_language(language)
    with tempfile.TemporaryDirectory(prefix="thb-ocr-") as tmp:
        pdf = Path(tmp) / "in.pdf"
        pdf.write_bytes(data)
        if lang is None or lang not in available:
            lang = _detect_language(pdf, numbers[0], available)
        pages = progress(numbers, "OCR pages") if progress else numbers
        return [_read_page(pdf, n, lang) for n in pages]


def _detect_language(pdf: Path, number: int, available: set[str]) -> str:
    """tesseract language of a page from an English pass and langdetect; eng when unsure."""
    from ingest.metadata import detect_language

    first = _read_page(pdf, number, "eng")
    guess = tesseract_language(detect_language(first.text)) if len(first.text) >= 40 else None
    log.info("%s page %d: OCR language detected as %s", pdf, number, guess or "eng")
    return guess if guess in available else "eng"


def _read_page(pdf: Path, number: int, lang: str) -> OcrPage:
    started = time.perf_counter()
    stem = pdf.with_name(f"page-{number}")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")  # one core a page: the machine is shared
    subprocess.run(["pdftoppm", "-r", str(RENDER_DPI), "-gray", "-png", "-singlefile", "-f", str(number),
                    "-l", str(number), str(pdf), str(stem)], check=True, capture_output=True,
                   timeout=PAGE_TIMEOUT_S)
    image = stem.with_suffix(".png")
    out = subprocess.run(["tesseract", str(image), "stdout", "-l", lang, "--psm", "3"], check=True,
                         capture_output=True, timeout=PAGE_TIMEOUT_S, env=env)
    image.unlink(missing_ok=True)
    text = out.stdout.decode("utf-8", "replace").replace("\f", "").strip()
    seconds = time.perf_counter() - started
    log.info("OCR page %d (%s): %d characters in %.1f s", number, lang, len(text), seconds)
    return OcrPage(number=number, text=text, language=lang, seconds=seconds)


def with_ocr(path: Path, data: bytes, raw, *, mode: str, language: str = "", progress=None):
    """The RawDocument with OCR text on the pages `mode` selects; UnreadableDocument when no page
    has text in the end (saying how to install or enable OCR when that would help)."""
    import dataclasses

    from ingest.errors import UnreadableDocument

    pages = list(raw.pages)
    numbers = pages_to_read(pages, check_mode(mode))
    scanned = sum(len(p.strip()) for p in pages) < MIN_TEXT_CHARS
    if numbers and (missing := missing_tools()):
        if scanned:
            raise UnreadableDocument(path, f"no text layer (scanned?); OCR needs {', '.join(missing)}: "
                                     f"{INSTALL_COMMAND}")
        log.warning("%s: %d page(s) without a text layer not read: OCR needs %s (%s)", path, len(numbers),
                    ", ".join(missing), INSTALL_COMMAND)
        numbers = []
    if scanned and not numbers:
        raise UnreadableDocument(path, "no text layer (scanned?)")  # THB_OCR=off: as without OCR
    try:
        read = ocr_pdf_pages(data, numbers, language, progress)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UnreadableDocument(path, f"OCR failed: {type(exc).__name__}: {exc}") from None
    for page in read:
        pages[page.number - 1] = page.text
    if sum(len(p.strip()) for p in pages) < MIN_TEXT_CHARS:
        raise UnreadableDocument(path, f"no text layer (scanned?): OCR found no text on {len(read)} page(s)")
    return dataclasses.replace(raw, pages=tuple(pages), ocr_pages=tuple(p.number for p in read),
                               ocr_seconds=sum(p.seconds for p in read))


def status_line(mode: str) -> str:
    """One line for start-up: whether scanned pages will be read, and how to make them so."""
    if mode == "off":
        return "OCR: off (THB_OCR=off); scanned PDFs are reported, not read"
    if missing := missing_tools():
        return f"OCR disabled: {', '.join(missing)} not installed; scanned PDFs are reported, not read ({INSTALL_COMMAND})"
    languages = sorted(installed_languages() - {"osd"})
    return f"OCR: {mode}, tesseract with {', '.join(languages) or 'no language packs'}"

"""PDF pages as a lawyer cites them: the printed page label beside the file's page index, and the
cited page rendered as an image with the passage boxed on it.

Labels come from the PDF itself (pypdf's `page_labels`, the /PageLabels the publisher set), read
from the source file when a hit is shown and kept per document id (ids are content hashes, so a
cached entry never goes stale). The page image comes from poppler's `pdftoppm`; the boxes from
pypdf's text positions, matched to the passage on letters and digits only (cleaning joins
hyphenation and maps bullets, so the stored text and the page's raw text differ in the rest).
"""
from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

PAGE_LABELS: dict[str, tuple[str, ...]] = {}  # doc_id -> printed label of each page (index 0 = PDF p. 1)
RENDER_DPI = 110
_ALNUM = re.compile(r"[^\W_]", re.UNICODE)


def read_page_labels(path: Path) -> tuple[str, ...]:
    try:
        from pypdf import PdfReader

        return tuple(PdfReader(str(path)).page_labels)
    except Exception:  # no labels readable: the file's page numbers stand
        log.warning("%s: no page labels", path, exc_info=True)
        return ()


def remember_labels(doc_id: str, path: Path | None) -> tuple[str, ...]:
    if doc_id not in PAGE_LABELS:
        PAGE_LABELS[doc_id] = read_page_labels(path) if path is not None and path.suffix.lower() == ".pdf" else ()
    return PAGE_LABELS[doc_id]


def page_citation(page: int | None, page_end: int | None, labels: tuple[str, ...]) -> str:
    """'p. 101 (PDF p. 37)' when the printed label differs from the file's page number, else 'p. 37'."""
    if not page:
        return ""
    end = page_end if page_end and page_end != page else None
    label = lambda n: labels[n - 1] if 0 < n <= len(labels) and labels[n - 1] else str(n)  # noqa: E731
    if end is None:
        printed = f"p. {label(page)}"
        return printed if label(page) == str(page) else f"{printed} (PDF p. {page})"
    printed = f"pp. {label(page)}-{label(end)}"
    same = label(page) == str(page) and label(end) == str(end)
    return printed if same else f"{printed} (PDF pp. {page}-{end})"


def cite_with_labels(hit, base_citation: str) -> str:
    """The hit's citation with its page part in printed labels (when the document's are known)."""
    labels = PAGE_LABELS.get(hit.doc_id) or ()
    if not hit.page or not labels:
        return base_citation
    plain = page_citation(hit.page, hit.page_end, ())
    if plain and plain in base_citation:
        return base_citation.replace(plain, page_citation(hit.page, hit.page_end, labels), 1)
    return base_citation


@lru_cache(maxsize=32)
def _positions(path: str, page_index: int) -> tuple[list[tuple[str, float, float, float]], tuple[float, float, float, float]]:
    """(text, x, y, font height) of each text run on the page, in extraction order; the mediabox."""
    from pypdf import PdfReader

    page = PdfReader(path).pages[page_index]
    runs: list[tuple[str, float, float, float]] = []

    def visit(text, cm, tm, _font, size):
        if not text or not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        height = abs(size * (tm[3] or 1) * (cm[3] or 1)) or 10.0
        runs.append((text, x, y, height))

    page.extract_text(visitor_text=visit)
    box = page.mediabox
    return runs, (float(box.left), float(box.bottom), float(box.right), float(box.top))


def passage_boxes(path: str, page_number: int, passage: str):
    """Boxes (left, top, width, height as fractions of the page) around the runs that hold the
    passage, and the share of the passage's letters and digits they cover."""
    runs, (x0, y0, x1, y1) = _positions(path, page_number - 1)
    stream, spans = [], []
    for text, *_ in runs:
        letters = _ALNUM.findall(text.lower())
        spans.append((len(stream), len(stream) + len(letters)))
        stream += letters
    target = "".join(_ALNUM.findall(passage.lower()))
    haystack = "".join(stream)
    if not target:
        return [], 0.0
    head = target[:80]
    at = haystack.find(head)
    if at < 0:
        return [], 0.0
    lo, hi = at, at + len(target)
    width, height = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    boxes, covered = [], 0
    for (text, x, y, size), (start, end) in zip(runs, spans):
        if end <= lo or start >= hi or end == start:
            continue
        covered += min(end, hi) - max(start, lo)
        run_w = 0.5 * size * len(text.rstrip())  # pypdf gives no widths: half an em per character
        boxes.append(((x - x0) / width, (y1 - y - size * 0.95) / height, min(run_w, x1 - x) / width,
                      size * 1.2 / height))
    return boxes, covered / len(target)


@lru_cache(maxsize=64)
def render_page_png(path: str, page_number: int, mtime: float) -> bytes | None:
    """The page as PNG bytes from pdftoppm; None when poppler-utils is missing or fails."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        return None
    try:
        with tempfile.TemporaryDirectory(prefix="thb-page-") as folder:
            out = Path(folder) / "page"
            subprocess.run([exe, "-png", "-r", str(RENDER_DPI), "-f", str(page_number), "-l", str(page_number),
                            "-singlefile", path, str(out)], capture_output=True, timeout=60, check=True)
            return out.with_suffix(".png").read_bytes()
    except (OSError, subprocess.SubprocessError):
        log.warning("pdftoppm failed on %s page %d", path, page_number, exc_info=True)
        return None

"""Read PDF, plain text, Markdown and HTML files into page texts, with one-line errors."""
from __future__ import annotations

import codecs
import concurrent.futures
import logging
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import UnreadableDocument

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".pdf", ".txt", ".md", ".markdown", ".html", ".htm"}


@dataclass(frozen=True, slots=True)
class RawDocument:
    """Text as read from a file: one string per page (one page for non-PDF files)."""

    pages: tuple[str, ...]
    paged: bool
    title_hint: str = ""


def read_document(path: Path, data: bytes, *, page_timeout_s: float = 20.0) -> RawDocument:
    """Dispatch on the file suffix; raise UnreadableDocument with a reason the user can act on."""
    suffix = path.suffix.lower()
    if not data:
        raise UnreadableDocument(path, "empty file (0 bytes)")
    if suffix == ".pdf":
        return read_pdf(path, data, page_timeout_s=page_timeout_s)
    if suffix in {".html", ".htm"}:
        return read_html(path, data)
    if suffix in {".txt", ".md", ".markdown"}:
        return RawDocument(pages=(decode_text(path, data),), paged=False)
    raise UnreadableDocument(path, f"unsupported file type {suffix or '(none)'}")


def decode_text(path: Path, data: bytes) -> str:
    """Decode bytes: BOMs first (UTF-8/16/32), then UTF-8, then Latin-1 for legacy files."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise UnreadableDocument(path, f"invalid {codec} text: {exc.reason}") from None
    if b"\x00" in data[:8192]:
        raise UnreadableDocument(path, "binary data, not text (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    sample = text[:8192]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    controls += sum(1 for ch in sample if 0x80 <= ord(ch) < 0xA0)
    if sample and controls / len(sample) > 0.05:
        raise UnreadableDocument(path, "binary data, not text (control characters)")
    return text


def read_html(path: Path, data: bytes) -> RawDocument:
    """Visible text only: scripts, styles, templates and hidden elements are dropped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe"]):
        tag.decompose()
    for tag in soup.select("[hidden], [aria-hidden=true]"):
        tag.decompose()
    title = ""
    heading = soup.find(["h1", "h2"])
    if heading:
        title = heading.get_text(" ", strip=True)
    block = {"p", "div", "section", "article", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
             "br", "table", "ul", "ol", "blockquote", "pre", "header", "footer", "main"}
    for tag in soup.find_all(block):
        tag.insert_before("\n\n" if tag.name != "br" else "\n")
    text = soup.get_text()
    return RawDocument(pages=(text,), paged=False, title_hint=title)


def read_pdf(path: Path, data: bytes, *, page_timeout_s: float) -> RawDocument:
    """Text per page with pypdf; each page bounded by a timeout; scanned PDFs are refused."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception as exc:  # pypdf raises several kinds for unsupported crypto
                raise UnreadableDocument(path, f"encrypted PDF, cannot decrypt: {exc}") from None
            if not ok:
                raise UnreadableDocument(path, "encrypted PDF (password required)")
        n_pages = len(reader.pages)
    except UnreadableDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, IndexError) as exc:
        raise UnreadableDocument(path, f"corrupt PDF: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad document, not a crash
        raise UnreadableDocument(path, f"corrupt PDF: {type(exc).__name__}: {exc}") from None
    if n_pages == 0:
        raise UnreadableDocument(path, "PDF has no pages")
    pages = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdfpage")
    try:
        for number in range(n_pages):
            future = pool.submit(_extract_page, reader, number)
            try:
                pages.append(future.result(timeout=page_timeout_s))
            except concurrent.futures.TimeoutError:
                raise UnreadableDocument(
                    path, f"page {number + 1}: text extraction exceeded {page_timeout_s:g} s") from None
            except Exception as exc:  # noqa: BLE001
                raise UnreadableDocument(
                    path, f"page {number + 1}: text extraction failed: {type(exc).__name__}: {exc}") from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if sum(len(p.strip()) for p in pages) < 20:
        raise UnreadableDocument(path, "no text layer (scanned?)")
    title = ""
    try:
        title = (reader.metadata.title or "").strip() if reader.metadata else ""
    except Exception:  # noqa: BLE001 - metadata is optional
        title = ""
    return RawDocument(pages=tuple(pages), paged=True, title_hint=title)


def _extract_page(reader, number: int) -> str:
    return reader.pages[number].extract_text() or ""

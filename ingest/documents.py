"""Types the ingest stage produces: document metadata, loaded documents and chunks."""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DocumentMeta:
    """Descriptive metadata, from a manifest row or derived from the file."""

    title: str
    doc_type: str = "unknown"
    issuer: str = ""
    country: str = ""
    language: str = ""
    year: int | None = None
    round: int | None = None  # GRETA evaluation round (manifest column `round`), else None


@dataclass(frozen=True, slots=True)
class Document:
    """A cleaned document: its text, and where each page starts in it (PDFs only)."""

    doc_id: str
    doc_path: str
    source_path: str
    meta: DocumentMeta
    text: str
    page_starts: tuple[int, ...] = ()
    ocr_pages: tuple[int, ...] = ()  # 1-based pages read by OCR
    ocr_seconds: float = 0.0

    @property
    def n_pages(self) -> int:
        return len(self.page_starts)

    def page_at(self, offset: int) -> int | None:
        """1-based page number of a character offset, or None for documents without pages."""
        if not self.page_starts:
            return None
        return bisect_right(self.page_starts, offset)


@dataclass(frozen=True, slots=True)
class Unit:
    """A structural unit of a document (heading section, article, numbered paragraph)."""

    label: str
    start: int
    end: int
    kind: str  # heading | legal | paragraph | body
    paragraph: str = ""


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage cut from a document; `text` is exactly document.text[start:end]."""

    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    start: int
    end: int
    section: str
    page_start: int | None
    page_end: int | None
    language: str
    paragraph: str = ""
    # Sentence (start, end) offsets into `text` (ingest/sentences.py), for highlighting at search.
    sentences: tuple[tuple[int, int], ...] = ()
    ocr: bool = False  # some of its text was read by OCR
    role: str = ""  # what the chunk is (ingest/roles.py ROLES): preamble, operative, final_clause ...

    @property
    def embedding_text(self) -> str:
        return embedding_text(self.section, self.text)


def embedding_text(section: str, text: str) -> str:
    """What the encoders see: the section label at the head of the passage (also for stored chunks)."""
    return f"{section}\n{text}" if section else text

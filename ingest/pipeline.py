"""From a file on disk to a cleaned Document and its chunks (with their sentences); no index, no embedding model."""
from __future__ import annotations

import dataclasses
import errno
import hashlib
from dataclasses import dataclass
from pathlib import Path

from ingest import greta
from ingest.chunking import Chunker
from ingest.cleaning import clean_pages, join_pages
from ingest.documents import Chunk, Document, DocumentMeta
from ingest.errors import SettingsError, UnreadableDocument
from ingest.metadata import derive_meta, short_title
from ingest.readers import SUPPORTED_SUFFIXES, read_document
from ingest.roles import document_roles
from ingest.sentences import split_sentences
from ingest.structure import find_units


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found under an ingested folder: where it is, and its path relative to that folder."""

    root: Path
    doc_path: str

    @property
    def path(self) -> Path:
        return self.root / self.doc_path


FOLLOW_SYMLINKS = ("no", "yes")


def check_follow_symlinks(value: str) -> bool:
    """THB_FOLLOW_SYMLINKS: "no" (default: a link whose target lies outside the ingested folder is
    refused and reported) or "yes" (follow it); any other value is refused."""
    if value not in FOLLOW_SYMLINKS:
        raise SettingsError(f"unknown THB_FOLLOW_SYMLINKS value {value!r}; choose from {', '.join(FOLLOW_SYMLINKS)}")
    return value == "yes"


def discover(paths: list[Path], *, follow_symlinks: bool = False) -> tuple[list[SourceFile], list[tuple[str, str]]]:
    """Supported files under each path (folders recursively), and paths that cannot be used.

    A symbolic link whose target lies outside the folder being ingested is refused unless
    `follow_symlinks`: an ingested folder should not pull in (and the app then serve) files from
    elsewhere on the machine."""
    found: list[SourceFile] = []
    problems: list[tuple[str, str]] = []
    for given in paths:
        given = given.expanduser().resolve()
        if given.is_dir():
            for path in sorted(given.rglob("*")):
                rel = path.relative_to(given)
                if any(part.startswith(".") for part in rel.parts) or path.suffix.lower() not in SUPPORTED_SUFFIXES:
                    continue
                if path.is_file():
                    if not follow_symlinks and not path.resolve().is_relative_to(given):
                        problems.append((str(path), f"symbolic link to {path.resolve()}, outside {given}; "
                                                    "set THB_FOLLOW_SYMLINKS=yes to follow such links"))
                        continue
                    found.append(SourceFile(given, rel.as_posix()))
                elif reason := _not_a_file(path):
                    problems.append((str(path), reason))
        elif given.is_file():
            if given.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(SourceFile(given.parent, given.name))
            else:
                problems.append((str(given), f"unsupported file type {given.suffix or '(none)'}"))
        else:
            problems.append((str(given), "no such file or folder"))
    return found, problems


def _not_a_file(path: Path) -> str:
    """Why a supported-looking name is not read, or "" for folders (never dropped silently)."""
    if path.is_symlink() and not path.exists():
        try:
            path.resolve(strict=True)
        except RuntimeError:  # Python 3.11-3.12 name a loop so
            return "symbolic link loop (the link leads back to itself)"
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "symbolic link loop (the link leads back to itself)"
        return "broken symbolic link (target is gone)"
    if path.is_dir():
        return ""
    return "not a regular file (device, pipe or socket)"


def document_id(data: bytes) -> str:
    """A document is identified by its bytes: the same file under two names is one document."""
    return hashlib.sha256(data).hexdigest()[:24]


def prepare_document(source: SourceFile, data: bytes, meta: DocumentMeta | None, chunker: Chunker,
                     *, page_timeout_s: float, ocr: str = "off", progress=None) -> tuple[Document, list[Chunk]]:
    """Read, clean, describe and chunk one file; raises UnreadableDocument with the reason.

    `ocr` is the THB_OCR mode for PDF pages without a text layer (ingest/ocr.py).
    """
    raw = read_document(source.path, data, page_timeout_s=page_timeout_s, ocr=ocr,
                        language=meta.language if meta else "", progress=progress)
    pages = clean_pages(raw.pages, paged=raw.paged)
    text, starts = join_pages(pages)
    if not text.strip():
        raise UnreadableDocument(source.path, "no text found")
    if meta is None:
        meta = derive_meta(source.path, text, raw.title_hint)
    elif not meta.language:
        meta = dataclasses.replace(meta, language=derive_meta(source.path, text).language)
    doc = Document(doc_id=document_id(data), doc_path=source.doc_path, source_path=str(source.path),
                   meta=meta, text=text, page_starts=starts if raw.paged else (),
                   ocr_pages=raw.ocr_pages, ocr_seconds=raw.ocr_seconds)
    report = greta.report_of(meta, text)
    units = greta.find_units(text, report) if report else find_units(text, short_title=short_title(meta))
    chunks = chunker.chunk_document(doc, units)
    if not chunks:
        raise UnreadableDocument(source.path, "no text found")
    spans = split_sentences([c.text for c in chunks])
    ocr_pages = set(raw.ocr_pages)
    roles = document_roles(doc, chunks)
    return doc, [dataclasses.replace(c, sentences=sp, ocr=_read_by_ocr(c, ocr_pages), role=role)
                 for c, sp, role in zip(chunks, spans, roles)]


def _read_by_ocr(chunk: Chunk, ocr_pages: set[int]) -> bool:
    if not ocr_pages or chunk.page_start is None:
        return False
    return any(p in ocr_pages for p in range(chunk.page_start, (chunk.page_end or chunk.page_start) + 1))

"""Documents in the store, the paths they were read from, and the files that failed."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """One row of `documents` as stored (`page_starts`: its JSON text)."""

    doc_id: str
    title: str
    doc_type: str
    issuer: str | None
    country: str | None
    language: str | None
    year: int | None
    n_pages: int
    text: str
    page_starts: str
    added_generation: int
    added_at: float


@dataclass(frozen=True, slots=True)
class DocumentLabels:
    """What a manifest row says of a document, as stored."""

    title: str
    doc_type: str
    issuer: str | None
    country: str | None
    language: str | None
    year: int | None


@dataclass(frozen=True, slots=True)
class DocumentListing:
    """A document as the app's table lists it: `doc_paths` joined by "; ", `added_utc` as
    "YYYY-MM-DD HH:MM:SS"."""

    doc_id: str
    title: str
    doc_type: str
    country: str | None
    language: str | None
    year: int | None
    n_pages: int
    n_chunks: int
    doc_paths: str
    added_utc: str


@dataclass(frozen=True, slots=True)
class DocumentFacets:
    """The distinct values the documents and chunks hold (filter choices); years None when empty."""

    countries: tuple[str, ...]
    doc_types: tuple[str, ...]
    languages: tuple[str, ...]
    year_min: int | None
    year_max: int | None
    priorities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PathRecord:
    """One row of `paths`: a file (root, doc_path) that holds document `doc_id`."""

    root: str
    doc_path: str
    source_path: str
    doc_id: str
    size: int
    mtime: float


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """A file that could not be ingested, and why; `at_utc` as "YYYY-MM-DD HH:MM:SS"."""

    root: str
    doc_path: str
    reason: str
    at: float
    at_utc: str


def insert_document(conn: sqlite3.Connection, doc: DocumentRecord) -> None:
    conn.execute("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                 (doc.doc_id, doc.title, doc.doc_type, doc.issuer, doc.country, doc.language, doc.year,
                  doc.n_pages, doc.text, doc.page_starts, doc.added_generation, doc.added_at))


def insert_documents(conn: sqlite3.Connection, docs: Iterable[DocumentRecord]) -> None:
    """Write many documents with one executemany (within the caller's transaction), for bulk loads."""
    conn.executemany("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     ((d.doc_id, d.title, d.doc_type, d.issuer, d.country, d.language, d.year, d.n_pages, d.text,
                       d.page_starts, d.added_generation, d.added_at) for d in docs))


def _document(r) -> DocumentRecord:
    return DocumentRecord(r["doc_id"], r["title"], r["doc_type"], r["issuer"], r["country"], r["language"],
                          r["year"], r["n_pages"], r["text"], r["page_starts"], r["added_generation"], r["added_at"])


def document(conn: sqlite3.Connection, doc_id: str) -> DocumentRecord | None:
    row = conn.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
    return None if row is None else _document(row)


def all_documents(conn: sqlite3.Connection) -> list[DocumentRecord]:
    return [_document(r) for r in conn.execute("SELECT * FROM documents")]


def has_document(conn: sqlite3.Connection, doc_id: str) -> bool:
    return conn.execute("SELECT 1 FROM documents WHERE doc_id=?", (doc_id,)).fetchone() is not None


def document_labels(conn: sqlite3.Connection, doc_id: str) -> DocumentLabels | None:
    row = conn.execute("SELECT title, doc_type, issuer, country, language, year FROM documents WHERE doc_id=?",
                       (doc_id,)).fetchone()
    return None if row is None else DocumentLabels(*row)


def document_ids(conn: sqlite3.Connection) -> list[str]:
    """Every document id, sorted."""
    return [r[0] for r in conn.execute("SELECT doc_id FROM documents ORDER BY doc_id")]


def document_ids_with_prefix(conn: sqlite3.Connection, prefix: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT doc_id FROM documents WHERE substr(doc_id, 1, ?) = ?",
                                       (len(prefix), prefix))]


def document_ids_added_since(conn: sqlite3.Connection, since: float) -> frozenset[str]:
    return frozenset(r[0] for r in conn.execute("SELECT doc_id FROM documents WHERE added_at > ?", (since,)))


def document_listing(conn: sqlite3.Connection) -> list[DocumentListing]:
    """Every document with its chunk count and paths, newest first."""
    return [DocumentListing(*r) for r in conn.execute(
        "SELECT d.doc_id, d.title, d.doc_type, d.country, d.language, d.year, d.n_pages, "
        "(SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.doc_id), "
        "(SELECT GROUP_CONCAT(p.doc_path, '; ') FROM paths p WHERE p.doc_id = d.doc_id), "
        "datetime(d.added_at, 'unixepoch') FROM documents d ORDER BY d.added_at DESC, d.title")]


def document_facets(conn: sqlite3.Connection) -> DocumentFacets:
    def distinct(sql: str) -> tuple[str, ...]:
        return tuple(r[0] for r in conn.execute(sql) if r[0] not in (None, ""))

    years = conn.execute("SELECT MIN(year), MAX(year) FROM documents").fetchone()
    priorities = distinct("SELECT DISTINCT j.value FROM chunks c, json_each(c.priorities) j ORDER BY 1")
    return DocumentFacets(distinct("SELECT DISTINCT country FROM documents ORDER BY 1"),
                          distinct("SELECT DISTINCT doc_type FROM documents ORDER BY 1"),
                          distinct("SELECT DISTINCT language FROM documents ORDER BY 1"),
                          years[0], years[1], priorities)


def insert_path(conn: sqlite3.Connection, path: PathRecord) -> None:
    """Record (or replace) the file a document was read from."""
    conn.execute("INSERT OR REPLACE INTO paths VALUES (?,?,?,?,?,?)",
                 (path.root, path.doc_path, path.source_path, path.doc_id, path.size, path.mtime))


def insert_paths(conn: sqlite3.Connection, paths: Iterable[PathRecord]) -> None:
    """Record many (root, doc_path) -> document rows with one executemany, for bulk loads."""
    conn.executemany("INSERT OR REPLACE INTO paths VALUES (?,?,?,?,?,?)",
                     ((p.root, p.doc_path, p.source_path, p.doc_id, p.size, p.mtime) for p in paths))


def _path(r) -> PathRecord:
    return PathRecord(r["root"], r["doc_path"], r["source_path"], r["doc_id"], r["size"], r["mtime"])


def find_path(conn: sqlite3.Connection, root: str, doc_path: str) -> PathRecord | None:
    row = conn.execute("SELECT * FROM paths WHERE root=? AND doc_path=?", (root, doc_path)).fetchone()
    return None if row is None else _path(row)


def touch_path(conn: sqlite3.Connection, root: str, doc_path: str, size: int, mtime: float) -> None:
    """The file is unchanged in content: record its new size and mtime."""
    conn.execute("UPDATE paths SET size=?, mtime=? WHERE root=? AND doc_path=?", (size, mtime, root, doc_path))


def paths_of(conn: sqlite3.Connection, doc_id: str) -> list[PathRecord]:
    """The paths holding a document, in the store's order (sort by doc_path where it matters)."""
    return [_path(r) for r in conn.execute("SELECT * FROM paths WHERE doc_id = ?", (doc_id,))]


def path_count(conn: sqlite3.Connection, doc_id: str) -> int:
    return conn.execute("SELECT COUNT(*) FROM paths WHERE doc_id=?", (doc_id,)).fetchone()[0]


def paths_under(conn: sqlite3.Connection, root: str) -> list[PathRecord]:
    """The paths ingested from one root folder."""
    return [_path(r) for r in conn.execute("SELECT * FROM paths WHERE root=?", (root,)).fetchall()]


def all_paths(conn: sqlite3.Connection) -> list[PathRecord]:
    return [_path(r) for r in conn.execute("SELECT * FROM paths")]


def drop_path(conn: sqlite3.Connection, key: tuple[str, str]) -> list[int]:
    """Forget a path (root, doc_path); drop its document and chunks when no other path still holds
    it. Returns the FAISS ids of the chunks dropped. Within the caller's transaction."""
    row = conn.execute("SELECT doc_id FROM paths WHERE root=? AND doc_path=?", key).fetchone()
    if not row:
        return []
    conn.execute("DELETE FROM paths WHERE root=? AND doc_path=?", key)
    if conn.execute("SELECT 1 FROM paths WHERE doc_id=?", (row["doc_id"],)).fetchone():
        return []
    ids = [r[0] for r in conn.execute("SELECT vec_id FROM chunks WHERE doc_id=?", (row["doc_id"],))]
    for vec_id in ids:
        conn.execute("DELETE FROM chunks_fts WHERE rowid=?", (vec_id,))
    conn.execute("DELETE FROM documents WHERE doc_id=?", (row["doc_id"],))
    return ids


def record_failure(conn: sqlite3.Connection, root: str, doc_path: str, reason: str, at: float) -> None:
    conn.execute("INSERT OR REPLACE INTO failures VALUES (?,?,?,?)", (root, doc_path, reason, at))


def clear_failure(conn: sqlite3.Connection, doc_path: str) -> int:
    """Forget the failures recorded for a file; returns how many there were."""
    return conn.execute("DELETE FROM failures WHERE doc_path = ?", (doc_path,)).rowcount


def failures(conn: sqlite3.Connection) -> list[FailureRecord]:
    """The recorded failures, newest first."""
    return [FailureRecord(*r) for r in conn.execute(
        "SELECT root, doc_path, reason, at, datetime(at, 'unixepoch') FROM failures ORDER BY at DESC")]


def document_paths(conn: sqlite3.Connection) -> dict[str, str]:
    """{doc_id: its first path} of every document."""
    rows = conn.execute("SELECT doc_id, MIN(doc_path) FROM paths GROUP BY doc_id")
    return {doc_id: path for doc_id, path in rows}

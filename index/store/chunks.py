"""Chunks in the store: their rows, embeddings and FTS5 terms, and the joined view search reads."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from index.store.schema import has_column, has_table


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk row joined with its document's metadata, as search reads it."""

    vec_id: int
    chunk_id: str
    doc_id: str
    doc_path: str
    title: str
    doc_type: str
    country: str
    language: str
    year: int | None
    page_start: int | None
    page_end: int | None
    section: str
    paragraph: str
    start: int
    end: int
    text: str
    priorities: tuple[str, ...]
    priority_scores: dict
    sentences: tuple[tuple[int, int], ...] | None = None
    ocr: bool = False  # a page of it was read by OCR
    strength: str = ""  # strongest GRETA recommendation in its paragraph (urges | considers | invites)
    role: str = ""  # ingest/roles.py ROLES; "" in a store older than schema 5 opened read-only


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """One row of `chunks` as stored (JSON columns as their text, vectors as float32 bytes), with
    its FTS5 `terms`; `vec_id` is None for a row not yet written."""

    vec_id: int | None
    chunk_id: str
    doc_id: str
    ordinal: int
    start: int
    end: int
    page_start: int | None
    page_end: int | None
    section: str
    paragraph: str
    language: str
    text: str
    embedding: bytes
    priorities: str = "[]"
    priority_scores: str = "{}"
    sentences: str | None = None
    ml_embedding: bytes | None = None
    terms: str = ""
    role: str = ""


@dataclass(frozen=True, slots=True)
class ChunkText:
    """A chunk's id, section label and text: what its embedding is made from."""

    vec_id: int
    section: str
    text: str


@dataclass(frozen=True, slots=True)
class ChunkVectors:
    """A chunk's text and stored vectors (multilingual: None until it has one), for re-tagging."""

    vec_id: int
    section: str
    text: str
    embedding: bytes
    ml_embedding: bytes | None
    doc_id: str = ""
    doc_type: str = ""
    role: str = ""


@dataclass(frozen=True, slots=True)
class FtsRow:
    """One row of an FTS5 table: the chunk's vec_id and its analysed terms."""

    rowid: int
    terms: str | None


@dataclass(frozen=True, slots=True)
class TextSpan:
    start: int
    end: int


_RECORD_COLUMNS = ("chunk_id, doc_id, ordinal, start, end, page_start, page_end, section, paragraph, language, "
                   "text, embedding, priorities, priority_scores, sentences, ml_embedding, role")


def insert_chunk(conn: sqlite3.Connection, chunk: ChunkRecord) -> int:
    """Write a chunk and its FTS5 terms (within the caller's transaction); returns its vec_id."""
    cur = conn.execute(
        f"INSERT INTO chunks ({_RECORD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (chunk.chunk_id, chunk.doc_id, chunk.ordinal, chunk.start, chunk.end, chunk.page_start, chunk.page_end,
         chunk.section, chunk.paragraph, chunk.language, chunk.text, chunk.embedding, chunk.priorities,
         chunk.priority_scores, chunk.sentences, chunk.ml_embedding, chunk.role))
    conn.execute("INSERT INTO chunks_fts(rowid, terms) VALUES (?, ?)", (cur.lastrowid, chunk.terms))
    return cur.lastrowid


def insert_chunks(conn: sqlite3.Connection, chunks: Iterable[ChunkRecord]) -> list[int]:
    """Write many chunks and their FTS5 terms with two executemany statements (within the caller's
    transaction), for bulk loads: a record's vec_id is kept when given, else the next free one is
    taken, in order. Returns the vec_ids written."""
    row = conn.execute("SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'chunks'), 0), "
                       "COALESCE((SELECT MAX(vec_id) FROM chunks), 0))").fetchone()
    next_id, ids, rows = int(row[0]) + 1, [], []
    for c in chunks:
        vec_id = next_id if c.vec_id is None else c.vec_id
        next_id = max(next_id, vec_id + 1)
        ids.append(vec_id)
        rows.append((vec_id, c.chunk_id, c.doc_id, c.ordinal, c.start, c.end, c.page_start, c.page_end, c.section,
                     c.paragraph, c.language, c.text, c.embedding, c.priorities, c.priority_scores, c.sentences,
                     c.ml_embedding, c.role, c.terms))
    conn.executemany(f"INSERT INTO chunks (vec_id, {_RECORD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     (r[:-1] for r in rows))
    conn.executemany("INSERT INTO chunks_fts(rowid, terms) VALUES (?, ?)", ((r[0], r[-1]) for r in rows))
    return ids


def _record(r, terms: str = "") -> ChunkRecord:
    return ChunkRecord(
        vec_id=r["vec_id"], chunk_id=r["chunk_id"], doc_id=r["doc_id"], ordinal=r["ordinal"], start=r["start"],
        end=r["end"], page_start=r["page_start"], page_end=r["page_end"], section=r["section"],
        paragraph=r["paragraph"], language=r["language"], text=r["text"], embedding=r["embedding"],
        priorities=r["priorities"], priority_scores=r["priority_scores"], sentences=r["sentences"],
        ml_embedding=r["ml_embedding"], terms=terms, role=r["role"] if "role" in r.keys() else "")


def chunk_records(conn: sqlite3.Connection) -> list[ChunkRecord]:
    """Every chunk with its FTS5 terms, by vec_id."""
    return [_record(r, r["terms"]) for r in conn.execute(
        "SELECT c.*, f.terms FROM chunks c JOIN chunks_fts f ON f.rowid = c.vec_id ORDER BY vec_id")]


def chunk_record(conn: sqlite3.Connection, doc_id: str, chunk_id: str | None = None) -> ChunkRecord | None:
    """The document's chunk `chunk_id`, else (none given, or not found) its first chunk."""
    row = None
    if chunk_id is not None:
        row = conn.execute("SELECT * FROM chunks WHERE doc_id = ? AND chunk_id = ?", (doc_id, chunk_id)).fetchone()
    row = row or conn.execute("SELECT * FROM chunks WHERE doc_id = ? ORDER BY ordinal LIMIT 1", (doc_id,)).fetchone()
    return None if row is None else _record(row)


def section_span(conn: sqlite3.Connection, doc_id: str, section: str) -> TextSpan | None:
    """Where the document's chunks labelled `section` start and end."""
    row = conn.execute("SELECT MIN(start), MAX(end) FROM chunks WHERE doc_id = ? AND section = ?",
                       (doc_id, section)).fetchone()
    return None if row is None or row[0] is None else TextSpan(row[0], row[1])


def chunk_at(conn: sqlite3.Connection, doc_id: str, offset: int) -> str:
    """The id of the document's first chunk holding character `offset`, or ""."""
    row = conn.execute("SELECT chunk_id FROM chunks WHERE doc_id = ? AND start <= ? AND \"end\" > ? "
                       "ORDER BY ordinal LIMIT 1", (doc_id, offset, offset)).fetchone()
    return row[0] if row else ""


def count_chunks(conn: sqlite3.Connection, *, multilingual: bool = False) -> int:
    """Chunks in the store (multilingual: those with a multilingual vector)."""
    where = " WHERE ml_embedding IS NOT NULL" if multilingual else ""
    return conn.execute(f"SELECT COUNT(*) FROM chunks{where}").fetchone()[0]


def chunk_vec_ids(conn: sqlite3.Connection, doc_id: str) -> dict[str, int]:
    """{chunk_id: vec_id} of one document's chunks."""
    return dict(conn.execute("SELECT chunk_id, vec_id FROM chunks WHERE doc_id=?", (doc_id,)).fetchall())


def chunk_texts(conn: sqlite3.Connection, *, without_ml: bool = False) -> list[ChunkText]:
    """Every chunk's section and text by vec_id (without_ml: only those with no multilingual vector)."""
    where = " WHERE ml_embedding IS NULL" if without_ml else " ORDER BY vec_id"
    return [ChunkText(r[0], r[1], r[2]) for r in conn.execute(f"SELECT vec_id, section, text FROM chunks{where}")]


def chunk_vectors(conn: sqlite3.Connection) -> list[ChunkVectors]:
    """Every chunk's text, stored vectors, document and its type and role, document by document in
    text order."""
    role = "c.role" if has_column(conn, "chunks", "role") else "''"
    return [ChunkVectors(*r) for r in conn.execute(
        f"SELECT c.vec_id, c.section, c.text, c.embedding, c.ml_embedding, c.doc_id, d.doc_type, {role} "
        "FROM chunks c JOIN documents d USING (doc_id) ORDER BY c.doc_id, c.ordinal")]


def set_ml_embedding(conn: sqlite3.Connection, vec_id: int, vector: bytes) -> None:
    conn.execute("UPDATE chunks SET ml_embedding=? WHERE vec_id=?", (vector, vec_id))


def set_priorities(conn: sqlite3.Connection, updates: Iterable[tuple[str, str, int]]) -> None:
    """(priorities JSON, priority scores JSON, vec_id) for each chunk re-tagged."""
    conn.executemany("UPDATE chunks SET priorities=?, priority_scores=? WHERE vec_id=?", updates)


def fts_rows(conn: sqlite3.Connection, table: str = "chunks_fts") -> Iterator[FtsRow]:
    """Every row of an FTS5 table of the store, by rowid."""
    for rowid, terms in conn.execute(f"SELECT rowid, terms FROM {table} ORDER BY rowid"):
        yield FtsRow(rowid, terms)


def all_embeddings(conn: sqlite3.Connection, dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (vec_id, vector) in the store, for rebuilding the FAISS index."""
    rows = conn.execute("SELECT vec_id, embedding FROM chunks ORDER BY vec_id").fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(-1, dimension)
    return ids, vectors


def ml_embeddings(conn: sqlite3.Connection, dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (vec_id, multilingual vector) in the store; none from a store older than schema 3."""
    columns = {r[1] for r in conn.execute("PRAGMA table_info(chunks)")}
    if "ml_embedding" not in columns:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dimension), dtype=np.float32)
    rows = conn.execute("SELECT vec_id, ml_embedding FROM chunks WHERE ml_embedding IS NOT NULL "
                        "ORDER BY vec_id").fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(-1, dimension)
    return ids, vectors


CHUNK_SELECT = """
SELECT c.vec_id, c.chunk_id, c.doc_id, c.page_start, c.page_end, c.section, c.paragraph, c.start,
       c.end, c.text, c.priorities, c.priority_scores, c.sentences, {role} AS role, d.title, d.doc_type, d.country,
       d.language,
       d.year, (SELECT p.doc_path FROM paths p WHERE p.doc_id = d.doc_id ORDER BY p.doc_path LIMIT 1) AS doc_path
FROM chunks c JOIN documents d ON d.doc_id = c.doc_id
"""


def fetch_chunks(conn: sqlite3.Connection, vec_ids: list[int]) -> dict[int, StoredChunk]:
    """Chunks with document metadata, keyed by FAISS id. The rows are read as plain tuples: looking
    up 20 columns of 50 rows by name cost more than the query (3.6 against 0.9 ms a search)."""
    out: dict[int, StoredChunk] = {}
    select = CHUNK_SELECT.format(role="c.role" if has_column(conn, "chunks", "role") else "''")
    cursor = conn.cursor()
    cursor.row_factory = None
    loads = json.loads
    for i in range(0, len(vec_ids), 500):
        batch = [int(v) for v in vec_ids[i:i + 500]]
        marks = ",".join("?" * len(batch))
        flags = chunk_flags(conn, batch)
        for (vec_id, chunk_id, doc_id, page_start, page_end, section, paragraph, start, end, text, priorities,
             priority_scores, sentences, role, title, doc_type, country, language, year,
             doc_path) in cursor.execute(f"{select} WHERE c.vec_id IN ({marks})", batch):
            out[vec_id] = StoredChunk(
                vec_id=vec_id, chunk_id=chunk_id, doc_id=doc_id, doc_path=doc_path or "",
                title=title, doc_type=doc_type, country=country or "",
                language=language or "", year=year, page_start=page_start,
                page_end=page_end, section=section, paragraph=paragraph,
                start=start, end=end, text=text,
                priorities=tuple(loads(priorities)), priority_scores=loads(priority_scores),
                sentences=None if sentences is None else tuple(map(tuple, loads(sentences))),
                role=role, **flags.get(vec_id, {}),
            )
    return out


# Strongest first: the chip a chunk shows when its paragraph holds several recommendations.
STRENGTH_ORDER = "CASE r.strength WHEN 'urges' THEN 0 WHEN 'considers' THEN 1 ELSE 2 END"


def chunk_flags(conn: sqlite3.Connection, vec_ids: list[int]) -> dict[int, dict]:
    """{vec_id: {"ocr": True, "strength": "urges"}} for chunks with an OCR page or a GRETA
    recommendation in their paragraph; empty for stores older than schema 4 (read-only opens)."""
    if not vec_ids or not has_table(conn, "ocr_pages"):
        return {}
    marks = ",".join("?" * len(vec_ids))
    sql = f"""
    SELECT c.vec_id,
           EXISTS (SELECT 1 FROM ocr_pages o WHERE o.doc_id = c.doc_id
                   AND o.page BETWEEN c.page_start AND COALESCE(c.page_end, c.page_start)) AS ocr,
           (SELECT r.strength FROM recommendations r WHERE r.doc_id = c.doc_id AND r.source = 'body'
                   AND c.paragraph != '' AND r.paragraph = c.paragraph ORDER BY {STRENGTH_ORDER} LIMIT 1) AS strength
    FROM chunks c WHERE c.vec_id IN ({marks})"""
    out = {}
    for vec_id, ocr, strength in conn.execute(sql, vec_ids):
        if ocr or strength:
            out[vec_id] = {"ocr": bool(ocr), "strength": strength or ""}
    return out


def strength_filter_sql(strengths: tuple[str, ...]) -> tuple[str, list[str]]:
    """A WHERE clause (over chunks `c`) keeping chunks of a paragraph that holds a recommendation
    of one of these strengths (not the footnotes printed inside it), and its parameters."""
    marks = ",".join("?" * len(strengths))
    return (f"EXISTS (SELECT 1 FROM recommendations r WHERE r.doc_id = c.doc_id AND r.source = 'body' "
            f"AND c.paragraph != '' AND r.paragraph = c.paragraph AND r.strength IN ({marks}))", list(strengths))

"""SQLite store: documents, their paths, chunks with embeddings, FTS5 text, and failures.

Schema changes are numbered migrations. Embeddings are kept in SQLite too, so the FAISS file
is derived data: when it is missing or from another generation, it is rebuilt from here.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.documents import Chunk, Document, DocumentMeta
from ingest.roles import document_roles

SCHEMA_VERSION = 5

MIGRATIONS = {
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE documents (
        doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, doc_type TEXT NOT NULL, issuer TEXT,
        country TEXT, language TEXT, year INTEGER, n_pages INTEGER NOT NULL, text TEXT NOT NULL,
        page_starts TEXT NOT NULL, added_generation INTEGER NOT NULL, added_at REAL NOT NULL
    );
    CREATE TABLE paths (
        root TEXT NOT NULL, doc_path TEXT NOT NULL, source_path TEXT NOT NULL,
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        size INTEGER NOT NULL, mtime REAL NOT NULL, PRIMARY KEY (root, doc_path)
    );
    CREATE INDEX paths_doc ON paths(doc_id);
    CREATE TABLE chunks (
        vec_id INTEGER PRIMARY KEY AUTOINCREMENT, chunk_id TEXT NOT NULL UNIQUE,
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
        page_start INTEGER, page_end INTEGER, section TEXT NOT NULL, paragraph TEXT NOT NULL,
        language TEXT NOT NULL, text TEXT NOT NULL, embedding BLOB NOT NULL,
        priorities TEXT NOT NULL DEFAULT '[]', priority_scores TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX chunks_doc ON chunks(doc_id);
    CREATE VIRTUAL TABLE chunks_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 2');
    CREATE TABLE failures (
        root TEXT NOT NULL, doc_path TEXT NOT NULL, reason TEXT NOT NULL, at REAL NOT NULL,
        PRIMARY KEY (root, doc_path)
    );
    """,
    # Sentence offsets into each chunk's text, found at ingest (JSON [[start, end], ...]); NULL for
    # chunks written before: search then finds them itself.
    2: """
    ALTER TABLE chunks ADD COLUMN sentences TEXT
    """,
    # The chunk's multilingual vector (index/multilingual.py), float32; NULL until it has one.
    3: """
    ALTER TABLE chunks ADD COLUMN ml_embedding BLOB
    """,
    # Pages read by OCR (ingest/ocr.py); GRETA reports and their recommendations (ingest/greta.py,
    # index/recommendations.py). Older stores gain empty tables: re-ingest a document to fill them.
    4: """
    CREATE TABLE ocr_pages (
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE, page INTEGER NOT NULL,
        seconds REAL NOT NULL, PRIMARY KEY (doc_id, page)
    );
    CREATE TABLE greta_reports (
        doc_id TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE, country TEXT NOT NULL,
        round INTEGER, year INTEGER, code TEXT NOT NULL, label TEXT NOT NULL
    );
    CREATE TABLE recommendations (
        rec_id INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE, ordinal INTEGER NOT NULL,
        paragraph TEXT NOT NULL, page_start INTEGER, page_end INTEGER, start INTEGER NOT NULL,
        end INTEGER NOT NULL, strength TEXT NOT NULL, text TEXT NOT NULL, authorities TEXT NOT NULL,
        articles TEXT NOT NULL, source TEXT NOT NULL, in_appendix INTEGER NOT NULL,
        priorities TEXT NOT NULL DEFAULT '[]', priority_scores TEXT NOT NULL DEFAULT '{}', embedding BLOB,
        UNIQUE (doc_id, ordinal)
    );
    CREATE INDEX recommendations_doc ON recommendations(doc_id)
    """,
    # The chunk's role (ingest/roles.py): preamble, operative, final_clause ... Filled for the
    # chunks already stored from their documents' text (fill_roles), without re-embedding.
    5: """
    ALTER TABLE chunks ADD COLUMN role TEXT NOT NULL DEFAULT ''
    """,
}


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


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the store (WAL, foreign keys on) and bring its schema up to date when writable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=30)
    else:
        conn = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.row_factory = sqlite3.Row
    if not readonly:
        migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    current = schema_version(conn)
    for version in sorted(v for v in MIGRATIONS if v > current):
        with transaction(conn):
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            if version in MIGRATION_STEPS:
                MIGRATION_STEPS[version](conn)
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(version),))
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")


def fill_roles(conn: sqlite3.Connection) -> int:
    """Give every stored chunk its role, from its document and chunk rows rebuilt as ingest made
    them (ingest/roles.py reads only text, offsets, labels and the document's type); returns how
    many chunks were filled."""
    filled = 0
    docs = conn.execute("SELECT doc_id, title, doc_type, language, text, page_starts FROM documents").fetchall()
    for d in docs:
        doc = Document(doc_id=d[0], doc_path="", source_path="", text=d[4],
                       meta=DocumentMeta(title=d[1], doc_type=d[2], language=d[3] or ""),
                       page_starts=tuple(json.loads(d[5] or "[]")))
        rows = conn.execute('SELECT vec_id, chunk_id, ordinal, text, start, "end", section, page_start, page_end, '
                            "language, paragraph FROM chunks WHERE doc_id = ? ORDER BY ordinal", (d[0],)).fetchall()
        chunks = [Chunk(chunk_id=r[1], doc_id=d[0], ordinal=r[2], text=r[3], start=r[4], end=r[5], section=r[6],
                        page_start=r[7], page_end=r[8], language=r[9], paragraph=r[10]) for r in rows]
        roles = document_roles(doc, chunks)
        conn.executemany("UPDATE chunks SET role = ? WHERE vec_id = ?", [(role, r[0]) for role, r in zip(roles, rows)])
        filled += len(rows)
    return filled


# Python steps that run after a migration's SQL, in the same transaction.
MIGRATION_STEPS = {5: fill_roles}


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
    if not row:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else 0


@contextmanager
def transaction(conn: sqlite3.Connection):
    """One IMMEDIATE transaction: all of it lands, or none of it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error:  # "database or disk is full" at COMMIT: nothing of it lands
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    return int(row[0]) if row else 0


def bump_generation(conn: sqlite3.Connection) -> int:
    new = generation(conn) + 1
    conn.execute("UPDATE meta SET value=? WHERE key='generation'", (str(new),))
    return new


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
       c.end, c.text, c.priorities, c.priority_scores, c.sentences, {role} AS role, d.title, d.doc_type, d.country, d.language,
       d.year, (SELECT p.doc_path FROM paths p WHERE p.doc_id = d.doc_id ORDER BY p.doc_path LIMIT 1) AS doc_path
FROM chunks c JOIN documents d ON d.doc_id = c.doc_id
"""


def fetch_provisions(conn: sqlite3.Connection, chunks: dict[int, tuple[str, str]], max_chars: int,
                     *, window: int = 8) -> dict[int, tuple]:
    """The whole short labelled section around each chunk of `chunks` ({vec_id: (doc_id, section)}):
    {vec_id: (start, end, page_start, page_end, text, parts)} where the section is two or more chunks
    in a row spanning at most `max_chars` characters of its document; `parts` holds each chunk's
    (start, sentence spans or None) in text order. A document's chunks are written in order, so a
    section's are neighbours by vec_id: only `window` ids either side are read (a run reaching
    further is not short)."""
    wanted = {k: v for k, v in chunks.items() if v[1]}
    if not wanted:
        return {}
    bounds: list[list[int]] = []
    for k in sorted(wanted):
        if bounds and k - window <= bounds[-1][1] + 1:
            bounds[-1][1] = k + window
        else:
            bounds.append([k - window, k + window])
    rows = {}
    for i in range(0, len(bounds), 400):
        part = bounds[i:i + 400]
        sql = ('SELECT vec_id, doc_id, section, start, "end", page_start, page_end, sentences FROM chunks WHERE '
               + " OR ".join("vec_id BETWEEN ? AND ?" for _ in part))
        rows.update((r[0], r) for r in conn.execute(sql, [v for b in part for v in b]))
    out: dict[int, tuple] = {}
    made: dict[tuple[int, int], tuple] = {}
    for k, (doc_id, section) in wanted.items():
        def same(v):
            r = rows.get(v)
            return r is not None and r[1] == doc_id and r[2] == section
        if not same(k):
            continue
        lo = hi = k
        while lo - 1 >= k - window and same(lo - 1):
            lo -= 1
        while hi + 1 <= k + window and same(hi + 1):
            hi += 1
        if hi == lo or lo - 1 < k - window or hi + 1 > k + window:
            continue  # one chunk, or a run that may reach past the window
        run = sorted((rows[v] for v in range(lo, hi + 1)), key=lambda r: r[3])
        start, end = run[0][3], max(r[4] for r in run)
        if end - start > max_chars:
            continue
        if (lo, hi) not in made:
            text = conn.execute("SELECT substr(text, ?, ?) FROM documents WHERE doc_id = ?",
                                (start + 1, end - start, doc_id)).fetchone()[0]
            pages = [r[5] for r in run if r[5] is not None]
            ends = [r[6] for r in run if r[6] is not None]
            parts = tuple((r[3], None if r[7] is None else tuple(tuple(sp) for sp in json.loads(r[7]))) for r in run)
            made[(lo, hi)] = (start, end, min(pages) if pages else None, max(ends) if ends else None, text, parts)
        out[k] = made[(lo, hi)]
    return out


def fetch_chunks(conn: sqlite3.Connection, vec_ids: list[int]) -> dict[int, StoredChunk]:
    """Chunks with document metadata, keyed by FAISS id."""
    out: dict[int, StoredChunk] = {}
    for i in range(0, len(vec_ids), 500):
        batch = [int(v) for v in vec_ids[i:i + 500]]
        marks = ",".join("?" * len(batch))
        flags = chunk_flags(conn, batch)
        select = CHUNK_SELECT.format(role="c.role" if has_column(conn, "chunks", "role") else "''")
        for r in conn.execute(f"{select} WHERE c.vec_id IN ({marks})", batch):
            out[r["vec_id"]] = StoredChunk(
                vec_id=r["vec_id"], chunk_id=r["chunk_id"], doc_id=r["doc_id"], doc_path=r["doc_path"] or "",
                title=r["title"], doc_type=r["doc_type"], country=r["country"] or "",
                language=r["language"] or "", year=r["year"], page_start=r["page_start"],
                page_end=r["page_end"], section=r["section"], paragraph=r["paragraph"],
                start=r["start"], end=r["end"], text=r["text"],
                priorities=tuple(json.loads(r["priorities"])), priority_scores=json.loads(r["priority_scores"]),
                sentences=None if r["sentences"] is None else tuple(tuple(sp) for sp in json.loads(r["sentences"])),
                role=r["role"], **flags.get(r["vec_id"], {}),
            )
    return out


def has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(r[1] == column for r in conn.execute(f"PRAGMA table_info({table})"))


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


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


# Reads of the searcher (search/engine.py, search/retrieval.py).

@dataclass(frozen=True, slots=True)
class ChunkOwner:
    """Which document (and its country) a vector row belongs to."""

    vec_id: int
    doc_id: str
    country: str


def languages(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The languages of the stored chunks."""
    return tuple(r[0] for r in conn.execute("SELECT DISTINCT language FROM chunks WHERE language != ''"))


def chunk_owners(conn: sqlite3.Connection) -> list[ChunkOwner]:
    """Every chunk's document and country (upper-cased), in vec_id order."""
    rows = conn.execute("SELECT c.vec_id, d.doc_id, d.country FROM chunks c "
                        "JOIN documents d ON d.doc_id = c.doc_id ORDER BY c.vec_id")
    return [ChunkOwner(int(v), doc, (country or "").upper()) for v, doc, country in rows]


def filtered_vec_ids(conn: sqlite3.Connection, *, countries=(), doc_types=(), languages=(), year_from=None,
                     year_to=None, priorities=(), strengths=()) -> set[int]:
    """The vec_ids of chunks whose document (and tags, and GRETA paragraph) pass every given filter.
    Countries are compared upper-cased; a store without GRETA tables has no recommendation."""
    where, args = [], []
    for column, values in (("d.country", tuple(v.upper() for v in countries)), ("d.doc_type", doc_types),
                           ("d.language", languages)):
        if values:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    if year_from:
        where.append("d.year >= ?")
        args.append(year_from)
    if year_to:
        where.append("d.year <= ?")
        args.append(year_to)
    if priorities:
        where.append("EXISTS (SELECT 1 FROM json_each(c.priorities) j WHERE j.value IN (%s))"
                     % ",".join("?" * len(priorities)))
        args.extend(priorities)
    if strengths:
        clause, values = strength_filter_sql(tuple(strengths)) if has_table(conn, "recommendations") else ("0", [])
        where.append(clause)
        args.extend(values)
    sql = "SELECT c.vec_id FROM chunks c JOIN documents d ON d.doc_id = c.doc_id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return {r[0] for r in conn.execute(sql, args)}


def fts_bm25(conn: sqlite3.Connection, phrases: list[str]) -> dict[int, float]:
    """{vec_id: bm25} of the chunks holding any of the phrases, from FTS5 (higher is better)."""
    match = " OR ".join('"' + p.replace('"', "") + '"' for p in phrases)
    rows = conn.execute("SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?", (match,))
    return {int(r[0]): -float(r[1]) for r in rows}


def term_df(conn: sqlite3.Connection) -> dict[str, int]:
    """How many chunks hold each indexed term, from FTS5's vocabulary."""
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.thb_vocab USING fts5vocab(main, 'chunks_fts', 'row')")
    return {r[0]: int(r[1]) for r in conn.execute("SELECT term, doc FROM temp.thb_vocab")}


def document_paths(conn: sqlite3.Connection) -> dict[str, str]:
    """{doc_id: its first path} of every document."""
    rows = conn.execute("SELECT doc_id, MIN(doc_path) FROM paths GROUP BY doc_id")
    return {doc_id: path for doc_id, path in rows}

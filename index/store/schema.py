"""The store's schema: numbered migrations, connections, transactions, the meta table.

Schema changes are numbered migrations. Embeddings are kept in SQLite too, so the FAISS file
is derived data: when it is missing or from another generation, it is rebuilt from here.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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
    from ingest.documents import Chunk, Document, DocumentMeta
    from ingest.roles import document_roles

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


def has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(r[1] == column for r in conn.execute(f"PRAGMA table_info({table})"))


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
    if not row:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else 0


@contextmanager
def snapshot(conn: sqlite3.Connection):
    """One read transaction: every read inside sees the same committed state (WAL). Inside a
    transaction already open on `conn`, that one."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


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


@contextmanager
def bulk_load(conn: sqlite3.Connection, cache_mb: int = 512):
    """Settings for loading millions of rows into a store no one else has open (a staging copy that
    is renamed into place when done): a rollback journal instead of WAL, so that each page is written
    once rather than to the WAL and again at the checkpoint (pages new to the file need no journal),
    and a larger page cache for the B-trees. The store is back in WAL mode afterwards."""
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute(f"PRAGMA cache_size={-1024 * int(cache_mb)}")
    try:
        yield conn
    finally:
        conn.execute("PRAGMA cache_size=-2000")
        conn.execute("PRAGMA journal_mode=WAL")


def generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    return int(row[0]) if row else 0


def bump_generation(conn: sqlite3.Connection) -> int:
    new = generation(conn) + 1
    conn.execute("UPDATE meta SET value=? WHERE key='generation'", (str(new),))
    return new


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    """A value of the meta table (schema_version, generation, taxonomy, tagger), or None."""
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: sqlite3.Connection, key: str, value: str, *, replace: bool = True) -> None:
    """Set a meta value; with replace=False an existing value is kept."""
    verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
    conn.execute(f"{verb} INTO meta VALUES (?, ?)", (key, value))


def file_schema_version(path: Path) -> int:
    """The schema version of the store file at `path`, read without migrating or creating it
    (sqlite3.DatabaseError when it is no SQLite file)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return schema_version(conn)
    finally:
        conn.close()


def quick_check(path: Path, max_errors: int = 3) -> list[str]:
    """PRAGMA quick_check of the store file at `path`: ["ok"], or up to `max_errors` problems
    (sqlite3.DatabaseError when it cannot be opened)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return [r[0] for r in conn.execute(f"PRAGMA quick_check({int(max_errors)})")]
    finally:
        conn.close()


def copy_store(source: Path, target: Path) -> None:
    """Copy the store file at `source` (read only) to `target` with SQLite's backup API."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def open_readonly(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to the store at `path`, or None when there is no store there."""
    return connect(path, readonly=True) if Path(path).is_file() else None


@dataclass(frozen=True, slots=True)
class StoreCounts:
    """How many documents, chunks and paths the store holds."""

    documents: int
    chunks: int
    paths: int


def counts(conn: sqlite3.Connection) -> StoreCounts:
    return StoreCounts(*(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                         for table in ("documents", "chunks", "paths")))

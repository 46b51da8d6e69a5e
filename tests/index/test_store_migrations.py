"""Schema migrations from every earlier schema (1, 2, 3, 4) to the current one.

Each old store is created with the SQL that version shipped with, frozen here as it was in git
(schema 1 at 7a62683, 2 at a72d305, 3 at 0ec2c7c, 4 at 4048a2a), not read back from index/store.py, so an edit
to an old migration cannot make its own test pass. The store is opened with the current code.
"""
from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from index import store

SCHEMA_1 = """
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
"""
SCHEMA_2 = SCHEMA_1 + "ALTER TABLE chunks ADD COLUMN sentences TEXT;\n"
SCHEMA_3 = SCHEMA_2 + "ALTER TABLE chunks ADD COLUMN ml_embedding BLOB;\n"
# Schema 4 (the GRETA and OCR tables) as it shipped at 4048a2a.
SCHEMA_4 = SCHEMA_3 + """
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
CREATE INDEX recommendations_doc ON recommendations(doc_id);
"""
OLD_SCHEMAS = {1: SCHEMA_1, 2: SCHEMA_2, 3: SCHEMA_3, 4: SCHEMA_4}

TEXTS = ["Article 13. Recovery and reflection period of at least 30 days.",
         "Article 4. Trafficking in human beings means the recruitment of persons."]
VECTORS = np.eye(2, 384, dtype=np.float32)


def _old_store(path, version: int) -> None:
    """A store at schema `version` holding one document, its path, two chunks, FTS rows and a failure."""
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMAS[version])
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", str(version)), ("generation", "3")])
    conn.execute("INSERT INTO documents VALUES ('d1', 'CETS 197', 'international_instrument', 'CoE', '', 'en', "
                 "2005, 1, ?, '[0]', 2, 1700000000.0)", (" ".join(TEXTS),))
    conn.execute("INSERT INTO paths VALUES ('/corpus', 'int/cets197.txt', '/corpus/int/cets197.txt', 'd1', 99, 1.5)")
    for ordinal, text in enumerate(TEXTS):
        extra = {"sentences": json.dumps([[0, 11], [12, len(text)]])} if version >= 2 else {}
        if version >= 3:
            extra["ml_embedding"] = VECTORS[ordinal][::-1].copy().tobytes()
        cols = ", ".join(["chunk_id", "doc_id", "ordinal", "start", "end", "page_start", "page_end", "section",
                          "paragraph", "language", "text", "embedding", "priorities", "priority_scores", *extra])
        values = [f"d1:{ordinal}", "d1", ordinal, 0, len(text), 1, 1, f"Article {13 - 9 * ordinal}", "", "en", text,
                  VECTORS[ordinal].tobytes(), json.dumps(["victim_support"] if ordinal == 0 else []),
                  json.dumps({"victim_support": 0.7} if ordinal == 0 else {}), *extra.values()]
        conn.execute(f"INSERT INTO chunks ({cols}) VALUES ({','.join('?' * len(values))})", values)
        conn.execute("INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)", (ordinal + 1, text.lower()))
    conn.execute("INSERT INTO failures VALUES ('/corpus', 'bad.pdf', 'bad.pdf: not a PDF', 2.0)")
    conn.commit()
    conn.close()


def _columns(conn, table: str) -> list[tuple]:
    return [tuple(r)[1:] for r in conn.execute(f"PRAGMA table_info({table})")]  # name, type, notnull, default, pk


def _tables(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') "
                                       "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'chunks_fts_%'")}


def test_the_frozen_schemas_cover_every_earlier_version():
    assert sorted(OLD_SCHEMAS) == list(range(1, store.SCHEMA_VERSION)), \
        "a new schema version: freeze the previous one here and test its migration"


@pytest.mark.parametrize("version", sorted(OLD_SCHEMAS))
def test_an_old_store_is_migrated_to_the_current_schema_and_keeps_its_rows(tmp_path, version):
    old = tmp_path / "old.sqlite"
    _old_store(old, version)
    fresh = store.connect(tmp_path / "fresh.sqlite")

    conn = store.connect(old)  # the current code opens it writable: migrations run
    assert store.schema_version(conn) == store.SCHEMA_VERSION
    assert store.generation(conn) == 3  # kept, not reset by the migrations
    assert _tables(conn) == _tables(fresh)
    for table in sorted(_tables(fresh) - {"paths_doc", "chunks_doc", "recommendations_doc"}):
        if table != "chunks_fts":
            assert _columns(conn, table) == _columns(fresh, table), table

    chunks = store.fetch_chunks(conn, [1, 2])
    assert [chunks[i].text for i in (1, 2)] == TEXTS
    assert chunks[1].section == "Article 13" and chunks[1].doc_path == "int/cets197.txt"
    assert chunks[1].priorities == ("victim_support",) and chunks[1].priority_scores == {"victim_support": 0.7}
    assert (chunks[1].ocr, chunks[1].strength) == (False, "")
    if version >= 2:
        assert chunks[1].sentences == ((0, 11), (12, len(TEXTS[0])))
    else:
        assert chunks[1].sentences is None  # search finds the sentences itself
    ids, vectors = store.all_embeddings(conn, 384)
    assert ids.tolist() == [1, 2] and np.array_equal(vectors, VECTORS)
    ml_ids, ml_vectors = store.ml_embeddings(conn, 384)
    if version >= 3:
        assert ml_ids.tolist() == [1, 2] and np.array_equal(ml_vectors[0], VECTORS[0][::-1])
    else:
        assert len(ml_ids) == 0  # backfilled at the next ingest
    assert [r[0] for r in conn.execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'reflection'")] == [1]
    assert [r[0] for r in conn.execute("SELECT reason FROM failures")] == ["bad.pdf: not a PDF"]
    assert conn.execute("SELECT COUNT(*) FROM recommendations").fetchone()[0] == 0
    conn.close()

    again = store.connect(old)  # a second open finds nothing to do and changes nothing
    assert store.schema_version(again) == store.SCHEMA_VERSION
    assert [r[0] for r in again.execute("SELECT chunk_id FROM chunks ORDER BY vec_id")] == ["d1:0", "d1:1"]
    again.close()
    fresh.close()

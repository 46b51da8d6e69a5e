"""Chunk roles in the store (schema 5): a real ingest of a shared-corpus treaty stores each chunk's
role and the search JSON shows it; a schema-4 store migrates to 5 with its roles filled from the
stored documents, without re-embedding.

Encoder: test-hash (index/embedder.py), a deterministic stand-in marked as such: the subject is the
store and its migration, not the model. Files, chunking, roles, FAISS and SQLite are real."""
from __future__ import annotations

import sqlite3

import pytest

from index import catalog, store
from index.builder import ingest_paths
from search.engine import Searcher
from tests.conftest import copy_subset
from ui.settings import load_settings

TREATY = "international/coe-cets197-convention-action-against-trafficking.txt"


@pytest.fixture
def treaty_home(tmp_path, monkeypatch):
    monkeypatch.setenv("THB_ENCODER", "test-hash")
    monkeypatch.setenv("THB_MULTILINGUAL", "off")
    corpus = copy_subset(tmp_path / "corpus", [TREATY])
    settings = load_settings(home=tmp_path / "home")
    summary = ingest_paths(settings.index, [corpus], tagger=False)
    assert not summary.failed, summary.failed
    return settings


def _roles(settings) -> dict[str, str]:
    conn = sqlite3.connect(settings.index.index_dir / catalog.DB_NAME)
    try:
        return dict(conn.execute("SELECT section, role FROM chunks ORDER BY ordinal"))
    finally:
        conn.close()


def test_ingest_stores_roles_and_the_json_shows_them(treaty_home):
    roles = _roles(treaty_home)
    assert {"preamble", "operative", "final_clause"} <= set(roles.values()), roles
    assert "" not in roles.values()
    by_section = {s: r for s, r in roles.items()}
    assert any("Article 4" in s and r == "definition" for s, r in by_section.items()), by_section
    assert any("Article 42" in s and r == "final_clause" for s, r in by_section.items()), by_section
    hits = Searcher(treaty_home.search).search("signature, ratification and entry into force of the Convention", top_k=5).hits
    assert hits and all(h.to_json()["role"] == h.role != "" for h in hits)
    assert any(h.role == "final_clause" for h in hits)


def test_a_schema_4_store_migrates_to_5_with_roles_filled(treaty_home):
    truth = _roles(treaty_home)
    path = treaty_home.index.index_dir / catalog.DB_NAME
    conn = sqlite3.connect(path)
    with conn:  # back to schema 4: the column gone, the version stamped 4
        conn.execute("ALTER TABLE chunks DROP COLUMN role")
        conn.execute("UPDATE meta SET value='4' WHERE key='schema_version'")
    embeddings = dict(conn.execute("SELECT vec_id, embedding FROM chunks"))
    conn.close()
    old = store.connect(path, readonly=True)  # read-only opens read a schema-4 store as it is
    try:
        assert {c.role for c in store.fetch_chunks(old, list(embeddings)).values()} == {""}
    finally:
        old.close()
    conn = store.connect(path)  # a writable open migrates
    try:
        assert store.schema_version(conn) == 5
        assert dict(conn.execute("SELECT section, role FROM chunks ORDER BY ordinal")) == truth
        assert dict(conn.execute("SELECT vec_id, embedding FROM chunks")) == embeddings
        assert {c.role for c in store.fetch_chunks(conn, list(embeddings)).values()} == set(truth.values())
    finally:
        conn.close()

"""index/store: the one owner of thb.sqlite's SQL, on real SQLite files (no model: vectors are bytes)."""
from __future__ import annotations

import dataclasses
import sqlite3

import numpy as np
import pytest

from index import store


def _vector(seed: int) -> bytes:
    return np.random.default_rng(seed).normal(size=384).astype(np.float32).tobytes()


def _document(doc_id: str, title: str = "Act", generation: int = 1) -> store.DocumentRecord:
    return store.DocumentRecord(doc_id, title, "national_legislation", None, "FI", "fi", 2014, 3,
                                "Section 1. Trafficking.\n\nSection 2. Penalty.", "[0, 24]", generation, 1.5)


def _chunk(doc_id: str, ordinal: int, start: int, end: int, section: str = "Section 1") -> store.ChunkRecord:
    return store.ChunkRecord(vec_id=None, chunk_id=f"{doc_id}:{ordinal}", doc_id=doc_id, ordinal=ordinal,
                             start=start, end=end, page_start=1, page_end=1, section=section, paragraph="",
                             language="fi", text=f"text {ordinal}", embedding=_vector(ordinal),
                             priorities='["prosecution"]', priority_scores='{"prosecution": 0.7}',
                             sentences="[[0, 6]]", ml_embedding=None, terms=f"term{ordinal} shared")


@pytest.fixture()
def conn(tmp_path):
    conn = store.connect(tmp_path / "thb.sqlite")
    yield conn
    conn.close()


def _fill(conn) -> list[int]:
    with store.transaction(conn):
        gen = store.bump_generation(conn)
        store.insert_document(conn, _document("d1", generation=gen))
        store.insert_path(conn, store.PathRecord("/corpus", "fi/act.txt", "/corpus/fi/act.txt", "d1", 44, 2.0))
        store.insert_path(conn, store.PathRecord("/corpus", "fi/copy.txt", "/corpus/fi/copy.txt", "d1", 44, 3.0))
        return [store.insert_chunk(conn, _chunk("d1", 0, 0, 23)), store.insert_chunk(conn, _chunk("d1", 1, 24, 44))]


def test_a_new_store_is_at_the_current_schema(conn):
    assert store.schema_version(conn) == store.SCHEMA_VERSION == max(store.MIGRATIONS)
    assert store.generation(conn) == 0
    assert store.counts(conn) == store.StoreCounts(0, 0, 0)


def test_rows_written_are_read_back_as_frozen_records(conn):
    ids = _fill(conn)
    assert ids == [1, 2] and store.generation(conn) == 1
    assert store.counts(conn) == store.StoreCounts(documents=1, chunks=2, paths=2)
    assert store.document(conn, "d1") == _document("d1")
    assert store.document_labels(conn, "d1") == store.DocumentLabels("Act", "national_legislation", None, "FI",
                                                                      "fi", 2014)
    assert store.find_path(conn, "/corpus", "fi/act.txt").mtime == 2.0
    assert [p.doc_path for p in store.paths_of(conn, "d1")] == ["fi/act.txt", "fi/copy.txt"]
    assert store.chunk_vec_ids(conn, "d1") == {"d1:0": 1, "d1:1": 2}
    assert [dataclasses.replace(r, vec_id=None) for r in store.chunk_records(conn)] == \
        [_chunk("d1", 0, 0, 23), _chunk("d1", 1, 24, 44)]
    assert [f.terms for f in store.fts_rows(conn)] == ["term0 shared", "term1 shared"]
    assert store.chunk_at(conn, "d1", 30) == "d1:1" and store.chunk_at(conn, "d1", 99) == ""
    assert store.section_span(conn, "d1", "Section 1") == store.TextSpan(0, 44)
    hit = store.fetch_chunks(conn, ids)[2]
    assert (hit.doc_path, hit.priorities, hit.sentences, hit.ocr) == ("fi/act.txt", ("prosecution",), ((0, 6),), False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.text = "changed"
    ids_back, vecs = store.all_embeddings(conn, 384)
    assert ids_back.tolist() == ids and vecs[1].tobytes() == _vector(1)


def test_drop_path_keeps_a_document_another_path_still_holds(conn):
    ids = _fill(conn)
    with store.transaction(conn):
        assert store.drop_path(conn, ("/corpus", "fi/copy.txt")) == []
        assert store.has_document(conn, "d1")
        assert store.drop_path(conn, ("/corpus", "fi/act.txt")) == ids
        assert store.drop_path(conn, ("/corpus", "fi/act.txt")) == []
    assert store.counts(conn) == store.StoreCounts(0, 0, 0)
    assert list(store.fts_rows(conn)) == []


def test_failures_and_meta(conn):
    with store.transaction(conn):
        store.record_failure(conn, "/corpus", "/corpus/bad.pdf", "not a PDF", 0.0)
        store.set_meta(conn, "taxonomy", "tf-2020")
        store.set_meta(conn, "taxonomy", "other", replace=False)
    assert store.failures(conn) == [store.FailureRecord("/corpus", "/corpus/bad.pdf", "not a PDF", 0.0,
                                                        "1970-01-01 00:00:00")]
    assert store.get_meta(conn, "taxonomy") == "tf-2020" and store.get_meta(conn, "missing") is None
    with store.transaction(conn):
        assert store.clear_failure(conn, "/corpus/bad.pdf") == 1
    assert store.failures(conn) == []


def test_a_failed_transaction_leaves_nothing(conn):
    with pytest.raises(RuntimeError), store.transaction(conn):
        store.insert_document(conn, _document("d1"))
        raise RuntimeError("killed half way")
    assert store.counts(conn).documents == 0


@pytest.mark.parametrize("version", range(1, store.SCHEMA_VERSION))
def test_a_store_of_every_earlier_schema_is_read_then_migrated(tmp_path, version):
    path = tmp_path / "thb.sqlite"
    old = sqlite3.connect(path, isolation_level=None)
    for v in range(1, version + 1):
        for statement in (s.strip() for s in store.MIGRATIONS[v].split(";")):
            if statement:
                old.execute(statement)
    old.execute("INSERT INTO meta VALUES ('schema_version', ?), ('generation', '1')", (str(version),))
    old.execute("INSERT INTO documents VALUES ('d1', 'Act', 'national_legislation', NULL, 'FI', 'fi', 2014, 1, "
                "'Section 1. Trafficking.', '[0]', 1, 1.5)")
    old.execute("INSERT INTO paths VALUES ('/corpus', 'act.txt', '/corpus/act.txt', 'd1', 23, 2.0)")
    old.execute("INSERT INTO chunks (chunk_id, doc_id, ordinal, start, end, page_start, page_end, section, "
                "paragraph, language, text, embedding) VALUES ('d1:0', 'd1', 0, 0, 23, 1, 1, 'Section 1', '', "
                "'fi', 'Section 1. Trafficking.', ?)", (_vector(0),))
    old.close()
    assert store.file_schema_version(path) == version
    if version >= 2:  # a read-only open reads it as it is (catalog.check_compatible accepts 2 and up)
        reader = store.connect(path, readonly=True)
        try:
            assert store.fetch_chunks(reader, [1])[1].chunk_id == "d1:0"
            assert store.ml_embeddings(reader, 384)[0].tolist() == []
            assert store.list_recommendations(reader) == [] and store.greta_choices(reader) == store.GretaChoices()
        finally:
            reader.close()
    writer = store.connect(path)  # a writable open migrates it, keeping its rows
    try:
        assert store.schema_version(writer) == store.SCHEMA_VERSION and store.generation(writer) == 1
        chunk = store.chunk_record(writer, "d1")
        assert (chunk.chunk_id, chunk.sentences, chunk.ml_embedding) == ("d1:0", None, None)
        assert store.has_table(writer, "recommendations")
    finally:
        writer.close()
    assert store.quick_check(path) == ["ok"]


def test_bulk_inserts_write_the_same_rows_as_one_at_a_time(conn, tmp_path):
    """insert_documents/insert_paths/insert_chunks (bench/scale_home.py's bulk load) against the
    one-row functions: same rows, next free vec_ids after the existing ones, FTS rows at the same ids."""
    _fill(conn)
    with store.bulk_load(conn), store.transaction(conn):
        store.insert_documents(conn, [_document("d2"), _document("d3", title="Other")])
        store.insert_paths(conn, [store.PathRecord("/c", "d2.txt", "/c/d2.txt", "d2", 1, 1.0),
                                  store.PathRecord("/c", "d3.txt", "/c/d3.txt", "d3", 1, 1.0)])
        ids = store.insert_chunks(conn, [_chunk("d2", 0, 0, 23), _chunk("d2", 1, 24, 44),
                                         dataclasses.replace(_chunk("d3", 0, 0, 23), vec_id=10)])
        after = store.insert_chunks(conn, [_chunk("d3", 1, 24, 44)])
    assert ids == [3, 4, 10] and after == [11]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.counts(conn) == store.StoreCounts(documents=3, chunks=6, paths=4)
    assert store.document(conn, "d3") == _document("d3", title="Other")
    one = store.connect(tmp_path / "one.sqlite")
    with store.transaction(one):
        store.insert_document(one, _document("d2"))
        store.insert_chunk(one, _chunk("d2", 0, 0, 23))
    expected = dataclasses.replace(store.chunk_records(one)[0], vec_id=3)
    one.close()
    records = {r.vec_id: r for r in store.chunk_records(conn)}
    assert records[3] == expected and records[10].chunk_id == "d3:0" and records[11].terms == "term1 shared"
    assert store.fts_bm25(conn, ["term0"]).keys() == {1, 3, 10}

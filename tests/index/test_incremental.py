"""Incremental FAISS upkeep (index/incremental.py): after an ingest that adds, replaces and prunes
documents, both vector files hold exactly the store's vectors, and they were updated in place, not
rebuilt. Real models, real FAISS, real SQLite, real files from ../shared/corpus."""
from __future__ import annotations

import logging

import faiss
import numpy as np
import pytest

from index import catalog, multilingual, store
from index.builder import ingest_paths
from ui.settings import load_settings
from tests.conftest import copy_subset

pytestmark = pytest.mark.slow

FIRST = ["legislation/is-almenn-hegningarlog-ch24.txt", "international/ilo-c105-abolition-of-forced-labour-convention-1957.txt"]
SECOND = ["international/ilo-c029-forced-labour-convention-1930.txt"]


def _contents(index) -> dict[int, np.ndarray]:
    ids = faiss.vector_to_array(index.id_map) if hasattr(index, "id_map") else np.arange(index.ntotal)
    return {int(i): index.reconstruct(int(i)) for i in ids}


def _assert_matches_store(settings) -> None:
    conn = store.connect(settings.index_dir / catalog.DB_NAME, readonly=True)
    try:
        on_disk = _contents(faiss.read_index(str(settings.index_dir / catalog.FAISS_NAME)))
        truth = _contents(catalog.vectors_from_store(settings.index, conn))
        assert on_disk.keys() == truth.keys()
        assert all(np.array_equal(on_disk[i], truth[i]) for i in truth)
        ml_disk = _contents(faiss.read_index(str(settings.index_dir / catalog.ML_FAISS_NAME)))
        ml_truth = _contents(catalog.ml_vectors_from_store(conn))
        assert ml_disk.keys() == ml_truth.keys() == truth.keys()
        assert all(np.array_equal(ml_disk[i], ml_truth[i]) for i in ml_truth)
    finally:
        conn.close()


def test_second_ingest_updates_both_faiss_files_in_place(tmp_path, caplog):
    corpus = copy_subset(tmp_path / "corpus", FIRST + SECOND)
    (corpus / SECOND[0]).rename(tmp_path / "later.txt")
    settings = load_settings(home=tmp_path / "home")
    ingest_paths(settings.index, [corpus], tagger=False)
    first = catalog.read_manifest(settings.index_dir)
    assert first["multilingual"]["encoder"] == multilingual.encoder_id(settings.index.multilingual)

    (tmp_path / "later.txt").rename(corpus / SECOND[0])  # one new document
    iceland = corpus / FIRST[0]
    iceland.write_text(iceland.read_text(encoding="utf-8") + "\n\n245. gr. Viðbót.\n", encoding="utf-8")  # one replaced
    with caplog.at_level(logging.INFO, logger="index.incremental"):
        summary = ingest_paths(settings.index, [corpus], tagger=False)
    assert summary.added == 1 and summary.updated == 1
    assert not [r for r in caplog.records if "rebuilding" in r.getMessage()]
    _assert_matches_store(settings)
    manifest = catalog.read_manifest(settings.index_dir)
    assert manifest["multilingual"]["vectors"] == manifest["counts"]["chunks"]

    (corpus / FIRST[1]).unlink()  # one pruned
    summary = ingest_paths(settings.index, [corpus], prune=True, tagger=False)
    assert summary.removed == 1
    _assert_matches_store(settings)


def test_files_left_by_a_crashed_ingest_are_rebuilt_not_trusted(tmp_path, caplog):
    """A store a generation ahead of the manifest (an ingest died after its commit) is rebuilt from."""
    corpus = copy_subset(tmp_path / "corpus", FIRST)
    settings = load_settings(home=tmp_path / "home")
    ingest_paths(settings.index, [corpus], tagger=False)
    conn = store.connect(settings.index_dir / catalog.DB_NAME)
    with store.transaction(conn):
        store.bump_generation(conn)  # what a crash between commit and manifest leaves
    conn.close()
    copy_subset(corpus, FIRST + SECOND)
    with caplog.at_level(logging.INFO, logger="index.incremental"):
        ingest_paths(settings.index, [corpus], tagger=False)
    assert [r for r in caplog.records if "rebuilding" in r.getMessage()]
    _assert_matches_store(settings)

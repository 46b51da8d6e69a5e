"""Take documents out of the index, and forget recorded failures: one writer at a time, under
the ingest lock, with the same atomic FAISS write and manifest as an ingest."""
from __future__ import annotations

import logging

import numpy as np

from index import catalog, incremental, store, vectors
from index.settings import IndexSettings

log = logging.getLogger(__name__)


def remove_documents(settings: IndexSettings, doc_ids: list[str], *, wait_s: float = 0.0) -> int:
    """Drop documents (every path, chunk and vector of each) from the index; returns how many went."""
    if not catalog.has_index(settings):
        return 0
    lock = catalog.acquire_writer_lock(settings, wait_s)
    try:
        manifest = catalog.read_manifest(settings.index_dir)
        conn = store.connect(settings.index_dir / catalog.DB_NAME)
        try:
            removed_ids, gone = [], 0
            generation_before = store.generation(conn)
            with store.transaction(conn):
                store.bump_generation(conn)
                for doc_id in doc_ids:
                    keys = store.paths_of(conn, doc_id)
                    for row in keys:
                        removed_ids += store.drop_path(conn, (row.root, row.doc_path))
                    gone += bool(keys)
            # both FAISS files lose the removed ids in place, as an ingest's changes are applied
            delta = incremental.Delta(tuple(removed_ids), np.zeros(0, dtype=np.int64), None)
            index = incremental.update_vectors(settings, conn, manifest, generation_before, delta)
            vectors.write_index_atomic(index, settings.index_dir / catalog.FAISS_NAME)
            ml_info = catalog.write_ml_vectors(settings, incremental.update_ml_vectors(
                settings, conn, manifest, generation_before, delta))
            catalog.write_postings(settings, conn)
            catalog.write_manifest(settings, conn, index_type="flat", multilingual=ml_info)
        finally:
            conn.close()
    finally:
        lock.release()
    log.info("removed %d documents (%d chunks)", gone, len(removed_ids))
    return gone


def forget_failures(settings: IndexSettings, doc_paths: list[str], *, wait_s: float = 0.0) -> int:
    """Delete the recorded failures of these paths (a failed upload the user removed)."""
    if not catalog.has_index(settings):
        return 0
    lock = catalog.acquire_writer_lock(settings, wait_s)
    try:
        conn = store.connect(settings.index_dir / catalog.DB_NAME)
        try:
            with store.transaction(conn):
                return sum(store.clear_failure(conn, p) for p in doc_paths)
        finally:
            conn.close()
    finally:
        lock.release()

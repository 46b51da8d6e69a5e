"""Bring the FAISS files up to date with one ingest's changes instead of rebuilding them from the store.

Both vector files (MiniLM's and the multilingual one) are extended with the new chunks' vectors and
lose the removed ones. A file is trusted only if it belongs to the generation the store had before
this ingest wrote: the manifest is written last, so `manifest.generation == generation before the
write` means the files on disk are those that ingest left, complete (an ingest that crashed after
its commit leaves the store a generation ahead: the files are rebuilt from the store, the truth).
After the update the counts must agree with the store, and the index type must still be the one
`vectors.choose_index_type` picks for the new size; otherwise the file is rebuilt from the store.

At 4,000 chunks a rebuild costs well under a second; at 150,000 chunks reading every blob and
re-adding (or re-training IVF) costs tens of seconds per ingest, which this avoids.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import catalog, store, vectors

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delta:
    """What one ingest changed in the vector space: ids removed, ids added with their vectors."""

    removed_ids: tuple[int, ...]
    new_ids: np.ndarray  # int64, the store's vec_ids of the new chunks, in plan order
    new_vectors: np.ndarray | None  # float32 rows for new_ids, or None


def _trusted(path: Path, manifest: dict | None, generation_before: int, count: int | None):
    """The index in `path` if it is the one the last complete ingest wrote, else None."""
    if not manifest or manifest.get("generation") != generation_before or not path.is_file() or count is None:
        return None
    try:
        index = vectors.read_index(path)
    except RuntimeError as exc:
        log.warning("%s: unreadable FAISS file, rebuilding from the store (%s)", path, exc)
        return None
    return index if index.ntotal == count else None


def _apply(index, delta: Delta, extra=()) -> None:
    vectors.remove_ids(index, list(delta.removed_ids) + [vec_id for vec_id, _v in extra])
    if delta.new_vectors is not None and len(delta.new_ids):
        index.add_with_ids(np.ascontiguousarray(delta.new_vectors, dtype=np.float32), delta.new_ids)
    if extra:
        index.add_with_ids(np.ascontiguousarray(np.stack([v for _i, v in extra]), dtype=np.float32),
                           np.asarray([i for i, _v in extra], dtype=np.int64))


def _fits(index, expected: int) -> bool:
    kind = vectors.index_type(index).split()[0]
    return index.ntotal == expected and kind == vectors.choose_index_type(expected)


def update_vectors(settings, conn, manifest: dict | None, generation_before: int, delta: Delta):
    """The MiniLM FAISS index after this ingest (updated in place when trusted, else rebuilt)."""
    count = (manifest or {}).get("counts", {}).get("chunks")
    index = _trusted(settings.index_dir / catalog.FAISS_NAME, manifest, generation_before, count)
    expected = store.count_chunks(conn)
    if index is not None:
        _apply(index, delta)
        if _fits(index, expected):
            return index
    log.info("rebuilding the FAISS index from the store")
    return catalog.vectors_from_store(settings, conn)


def update_ml_vectors(settings, conn, manifest: dict | None, generation_before: int, delta: Delta,
                      backfill=()):
    """The multilingual FAISS index after this ingest, or None when the store holds no such vectors.

    `backfill`: (vec_id, vector) of chunks that had none (ingested while the space was off)."""
    from index import multilingual

    info = (manifest or {}).get("multilingual") or {}
    expected = store.count_chunks(conn, multilingual=True)
    if expected == 0:
        return None
    index = None
    if info.get("encoder") == multilingual.encoder_id(settings.multilingual):
        index = _trusted(settings.index_dir / catalog.ML_FAISS_NAME, manifest, generation_before,
                         info.get("vectors"))
    if index is not None:
        _apply(index, delta, extra=list(backfill))
        if _fits(index, expected):
            return index
    log.info("rebuilding the multilingual FAISS index from the store")
    return catalog.ml_vectors_from_store(conn)


def new_ids(conn, plan) -> np.ndarray:
    """The store's vec_ids of the plan's new chunks, in plan order."""
    ids = []
    for _source, doc, chunks, _info in plan.new_docs:
        rows = store.chunk_vec_ids(conn, doc.doc_id)
        ids += [rows[c.chunk_id] for c in chunks]
    return np.asarray(ids, dtype=np.int64)

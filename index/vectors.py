"""The FAISS index of chunk vectors: ids are the store's vec_ids; writes are atomic renames."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def new_index(dimension: int):
    """Exact inner-product search over normalised vectors, addressed by our own ids."""
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def build_index(dimension: int, ids: np.ndarray, vectors: np.ndarray):
    index = new_index(dimension)
    if len(ids):
        index.add_with_ids(vectors, ids)
    return index


def read_index(path: Path):
    import faiss

    return faiss.read_index(str(path))


def write_index_atomic(index, path: Path) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the old file."""
    import faiss

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    faiss.write_index(index, str(tmp))
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def remove_ids(index, ids: list[int]) -> None:
    import faiss

    if ids:
        index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)))


def search(index, query: np.ndarray, top_k: int, allowed_ids: np.ndarray | None = None):
    """(scores, ids) of the top_k nearest vectors, optionally only among allowed ids."""
    import faiss

    if index.ntotal == 0 or top_k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    k = min(top_k, index.ntotal)
    params = None
    if allowed_ids is not None:
        if len(allowed_ids) == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed_ids, dtype=np.int64)))
        k = min(k, len(allowed_ids))
    scores, ids = index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]

"""FAISS at scale: latency, memory and recall@10 against exact search on clustered synthetic vectors.

Real chunk embeddings are clustered (topics, boilerplate), so uniform random vectors would make
IVF look worse and HNSW better than they are: the set here is a Gaussian mixture around a few
thousand centroids, normalised, like sentence embeddings.
"""
from __future__ import annotations

import os
import time

import numpy as np

DIM = 384


def clustered_vectors(n: int, *, dim: int = DIM, centroids: int = 2000, spread: float = 0.6,
                      seed: int = 0) -> np.ndarray:
    """n unit vectors around `centroids` random centres; built in blocks to bound memory."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((centroids, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        block = centres[rng.integers(0, centroids, stop - start)]
        block += (spread / np.sqrt(dim)) * rng.standard_normal(block.shape, dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:stop] = block
    return out


def queries_near(data: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    """Queries like real ones: near the data but not copies of it."""
    rng = np.random.default_rng(seed)
    q = data[rng.choice(len(data), n, replace=False)].copy()
    q += (0.5 / np.sqrt(data.shape[1])) * rng.standard_normal(q.shape, dtype=np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def recall_at(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth)]))


def latencies_ms(index, queries: np.ndarray, k: int = 10) -> np.ndarray:
    """One query at a time on one OpenMP thread, as vectors.search runs them for the searcher."""
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    out = []
    try:
        for q in queries:
            started = time.perf_counter()
            index.search(q.reshape(1, -1), k)
            out.append((time.perf_counter() - started) * 1000)
    finally:
        faiss.omp_set_num_threads(threads)
    return np.asarray(out)


def index_bytes(index) -> int:
    import faiss

    return int(faiss.serialize_index(index).nbytes) if index.ntotal < 5_000_000 else -1


def run_scale(sizes: list[int], *, n_queries: int = 200, types: tuple[str, ...] = ("flat", "ivf-flat", "ivf-sq8", "hnsw"),
              log=print) -> list[dict]:
    """One row per (size, index type): build s, p50/p95 ms, recall@10 vs flat, bytes."""
    import faiss

    from index import vectors

    rows = []
    for n in sizes:
        data = clustered_vectors(n, centroids=max(200, min(5000, n // 200)))
        queries = queries_near(data, n_queries)
        ids = np.arange(n, dtype=np.int64)
        truth = None
        for kind in types:
            if kind == "hnsw" and n > 1_000_000:
                continue  # build time on 2 cores is prohibitive; IVF covers this range
            started = time.perf_counter()
            if kind == "hnsw":
                index = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = 80
                index.add(data)
                index.hnsw.efSearch = 96
            else:
                index = vectors.build_index(DIM, ids, data, kind)
            build_s = time.perf_counter() - started
            _, found = index.search(queries, 10)
            if kind == "flat":
                truth = found
            lat = latencies_ms(index, queries)
            row = {"section": "scale", "n": n, "index": vectors.index_type(index) if kind != "hnsw" else "hnsw M=32 ef=96",
                   "build_s": round(build_s, 1), "p50_ms": round(float(np.percentile(lat, 50)), 2),
                   "p95_ms": round(float(np.percentile(lat, 95)), 2),
                   "recall@10": round(recall_at(found, truth), 4) if truth is not None else None,
                   "index_mb": round(index_bytes(index) / 2**20, 1)}
            log(row)
            rows.append(row)
            del index
        del data
    return rows


def rss_mb() -> float:
    """Resident memory now (not the peak), from /proc."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_end_to_end(home, queries: list[str], *, reps: int = 2, log=print) -> dict:
    """Warm Searcher.search over a grown home (bench/scale_home.py): every stage, p50/p95, memory
    at load and per query, and recall@10 of each vector space's index against exact search."""
    import faiss

    from bench.scale_home import _settings_for
    from index import catalog
    from search.engine import Searcher

    settings = _settings_for(home, catalog.read_manifest(home / "index"))
    before = rss_mb()
    started = time.perf_counter()
    searcher = Searcher(settings.search)
    searcher.search(queries[0])
    load_s, loaded = time.perf_counter() - started, rss_mb()
    lat, growth = [], []
    for q in queries * reps:
        mem = rss_mb()
        started = time.perf_counter()
        searcher.search(q)
        lat.append((time.perf_counter() - started) * 1000)
        growth.append(rss_mb() - mem)
    row = {"section": "scale-e2e", "chunks": searcher.size, "index": vectors_kind(searcher.index),
           "multilingual": settings.index.multilingual, "lexical": "memory" if searcher.lexical is not None else "fts5",
           "queries": len(lat), "p50_ms": round(float(np.percentile(lat, 50)), 1),
           "p95_ms": round(float(np.percentile(lat, 95)), 1), "load_s": round(load_s, 1),
           "rss_at_load_mb": round(loaded - before), "rss_mb": round(rss_mb()),
           "rss_per_query_mb_max": round(max(growth), 1)}
    qv = np.stack([searcher.embedder.embed(q) for q in queries])
    row["recall@10"] = _recall_vs_flat(searcher.index, qv)
    if searcher.ml_index is not None:
        row["ml_recall@10"] = _recall_vs_flat(searcher.ml_index, searcher._ml_queries(queries))
    log(row)
    return row


def vectors_kind(index) -> str:
    from index import vectors

    return vectors.index_type(index)


def _recall_vs_flat(index, queries: np.ndarray) -> float | None:
    """recall@10 of the index's own search against exact inner product over the same vectors."""
    import faiss

    from index import vectors

    if vectors.index_type(index) == "flat":
        return 1.0
    ivf = faiss.extract_index_ivf(index)
    invlists = ivf.invlists
    ids, vecs = [], []
    for cell in range(ivf.nlist):  # the stored vectors, cell by cell (IVF-Flat stores them as they are)
        n = invlists.list_size(cell)
        if n:
            ids.append(faiss.rev_swig_ptr(invlists.get_ids(cell), n).copy())
            vecs.append(faiss.rev_swig_ptr(invlists.get_codes(cell), n * ivf.code_size).copy())
    if "sq8" in vectors.index_type(index):
        return None  # codes are 8-bit: exact vectors not held, see run_scale for SQ8 recall
    exact = faiss.IndexIDMap2(faiss.IndexFlatIP(ivf.d))
    exact.add_with_ids(np.concatenate(vecs).view(np.float32).reshape(-1, ivf.d), np.concatenate(ids))
    _, truth = exact.search(queries.astype(np.float32), 10)
    found = np.stack([np.pad(vectors.search(index, q, 10)[1], (0, 10))[:10] for q in queries])
    return round(recall_at(found, truth), 4)

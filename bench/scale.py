"""FAISS at scale: latency, memory and recall@10 against exact search on clustered synthetic vectors.

Real chunk embeddings are clustered (topics, boilerplate), so uniform random vectors would make
IVF look worse and HNSW better than they are: the set here is a Gaussian mixture around a few
thousand centroids, normalised, like sentence embeddings.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

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


def run_end_to_end(home, queries: list[str], *, reps: int = 2, log=print, profile: Path | None = None) -> dict:
    """Warm Searcher.search over a grown home (bench/scale_home.py): every stage, p50/p95, memory
    at load and per query, what the searcher holds, and recall@10 (and @100, the candidate depth)
    of each vector space's index against exact search over the same stored vectors. Each repeat is
    searched, not answered from the result cache. `profile`: also one cProfile'd pass over the
    queries, its stats written there."""
    from bench.scale_home import _settings_for
    from index import catalog
    from search.engine import Searcher

    home = Path(home)
    settings = _settings_for(home, catalog.read_manifest(home / "index"))
    before = rss_mb()
    started = time.perf_counter()
    searcher = Searcher(settings.search)
    searcher.cache.max_entries = 0
    searcher.search(queries[0])
    load_s, loaded = time.perf_counter() - started, rss_mb()
    lat, growth = [], []
    for q in queries * reps:
        mem = rss_mb()
        started = time.perf_counter()
        searcher.search(q)
        lat.append((time.perf_counter() - started) * 1000)
        growth.append(rss_mb() - mem)
    row = {"section": "scale-e2e", "home": str(home), "chunks": searcher.size, "index": vectors_kind(searcher.index),
           "ml_index": vectors_kind(searcher.ml_index) if searcher.ml_index is not None else None,
           "multilingual": settings.index.multilingual, "lexical": "memory" if searcher.lexical is not None else "fts5",
           "queries": len(lat), "p50_ms": round(float(np.percentile(lat, 50)), 1),
           "p95_ms": round(float(np.percentile(lat, 95)), 1), "max_ms": round(float(np.max(lat)), 1),
           "load_s": round(load_s, 1), "rss_at_load_mb": round(loaded - before), "rss_mb": round(rss_mb()),
           "rss_per_query_mb_mean": round(float(np.mean(growth)), 2), "rss_per_query_mb_max": round(max(growth), 1),
           **{f"held_{k}_mb": v for k, v in held_mb(searcher).items()}}
    if profile is not None:
        row["profile"] = str(profile)
        _profile(searcher, queries, profile)
    row.update(vector_recall(searcher, queries))
    log(row)
    return row


def end_to_end_bench(home: Path, queries_path: Path, *, results: Path, quick: bool = False,
                     profile: Path | None = None, echo=print) -> dict:
    """`python -m bench --end-to-end --home DIR`: run_end_to_end over the dev questions; a table
    row printed, a JSON line appended to `results`, and the profile's top functions with --profile."""
    import json

    from bench import runner
    from bench.scale_home import _settings_for
    from index import catalog
    from search.evaluation import load_queries

    home = Path(home)
    ctx = runner.context(_settings_for(home, catalog.read_manifest(home / "index")))
    queries = [q.query for q in load_queries(queries_path)]
    row = run_end_to_end(home, queries, reps=1 if quick else 3, log=lambda r: None, profile=profile)
    with results.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({**ctx, "quick": quick, **row}) + "\n")
    echo(runner.format_table(ctx, [row]))
    if profile is not None:
        echo(profile_summary(profile))
    return row


def profile_summary(path: Path, top: int = 30) -> str:
    """The profile's costliest functions, by own time and by cumulative time."""
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def _profile(searcher, queries: list[str], path: Path) -> None:
    import cProfile

    prof = cProfile.Profile()
    prof.enable()
    for q in queries:
        searcher.search(q)
    prof.disable()
    prof.dump_stats(str(path))


def held_mb(searcher) -> dict[str, float]:
    """What the loaded searcher holds, by part (MB): the FAISS indexes (codes, ids, coarse
    centroids), the per-chunk dicts (vec_id -> country, vec_id -> doc_id: the dicts, their int keys
    and their distinct value strings) and the in-memory BM25 postings' arrays."""
    loaded = searcher._loaded
    out = {"faiss_minilm": _faiss_mb(searcher.index)}
    if searcher.ml_index is not None:
        out["faiss_e5"] = _faiss_mb(searcher.ml_index)
    out["chunk_dicts"] = round(_dicts_bytes(loaded.countries, loaded.doc_of) / 2**20, 1)
    post = searcher.lexical
    if post is not None:
        arrays = (post.rowids, post.lengths, post.rows, post.positions, post._norm)
        terms = sys.getsizeof(post.terms) + sum(sys.getsizeof(t) + 64 for t in post.terms)
        out["postings"] = round((sum(a.nbytes for a in arrays) + terms) / 2**20, 1)
    return out


def _faiss_mb(index) -> float:
    import faiss

    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:
        return round(index.ntotal * (index.d * 4 + 8) / 2**20, 1)  # flat + IDMap2
    ivf = faiss.downcast_index(ivf)
    return round((ivf.ntotal * (ivf.code_size + 8) + ivf.nlist * ivf.d * 4) / 2**20, 1)


def _dicts_bytes(*dicts: dict) -> int:
    seen: set[int] = set()
    total = 0
    for d in dicts:
        total += sys.getsizeof(d)
        for k, v in d.items():
            for obj in (k, v):
                if id(obj) not in seen:
                    seen.add(id(obj))
                    total += sys.getsizeof(obj)
    return total


def vector_recall(searcher, queries: list[str], chunk_queries: int = 200, seed: int = 3) -> dict:
    """recall@10 and @100 of each space's FAISS index against exact inner product over the
    store's own vectors, for the dev questions (encoded as the searcher encodes them) and for
    `chunk_queries` stored chunk vectors with noise (queries near the data)."""
    from index import multilingual, store

    out = {}
    spaces = [("", searcher.index, np.stack([searcher.embedder.embed(q) for q in queries]),
               lambda: store.all_embeddings(searcher.conn, searcher.index.d))]
    if searcher.ml_index is not None:
        spaces.append(("ml_", searcher.ml_index, searcher._ml_queries(queries),
                       lambda: store.ml_embeddings(searcher.conn, multilingual.DIMENSION)))
    for prefix, index, qv, stored in spaces:
        ids, vecs = stored()
        rng = np.random.default_rng(seed)
        near = vecs[rng.choice(len(vecs), min(chunk_queries, len(vecs)), replace=False)]
        near = near + (0.5 / np.sqrt(vecs.shape[1])) * rng.standard_normal(near.shape, dtype=np.float32)
        near /= np.linalg.norm(near, axis=1, keepdims=True)
        for label, q in (("", qv), ("chunkq_", near)):
            truth = _exact_top(ids, vecs, q, 100)
            found = _index_top(index, q, 100)
            out[f"{prefix}{label}recall@10"] = round(recall_at(found, truth, 10), 4)
            out[f"{prefix}{label}recall@100"] = round(recall_at(found, truth, 100), 4)
        del ids, vecs
    return out


def _exact_top(ids: np.ndarray, vecs: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    import faiss

    exact = faiss.IndexFlatIP(vecs.shape[1])
    exact.add(np.ascontiguousarray(vecs, dtype=np.float32))
    _, rows = exact.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    return ids[rows]


def _index_top(index, queries: np.ndarray, k: int) -> np.ndarray:
    from index import vectors

    return np.stack([np.pad(vectors.search(index, q, k)[1], (0, k), constant_values=-1)[:k] for q in queries])


def vectors_kind(index) -> str:
    from index import vectors

    return vectors.index_type(index)

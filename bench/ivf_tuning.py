"""IVF parameters on a grown home's real-chunk vectors: recall@10/@100 against exact search and
single-query latency, per index type (IVF-Flat, IVF-SQ8) and nprobe, for both vector spaces.

The queries are the dev questions encoded as the searcher encodes them (MiniLM; e5 with its
"query:" prefix), and stored chunk vectors with noise (queries near the data). The dev questions
are the harder and the more realistic set: e5's query vectors sit apart from its passage vectors.

    python -m bench --tune-ivf --home /work/coord/scale-1m
"""
from __future__ import annotations

import time

import numpy as np

from bench.scale import _exact_top, _faiss_mb, recall_at

NPROBES = (16, 32, 48, 64, 96, 128)
# Country filters of the shared corpus from narrow to wide: IS 0.3% of its chunks, FI 1.3%, SE 4.6%, NO 18%.
FILTERS = ("IS", "FI", "SE", "NO")


def tune(home, queries: list[str], *, kinds: tuple[str, ...] = ("ivf-flat", "ivf-sq8"),
         nprobes: tuple[int, ...] = NPROBES, near: int = 200, filters: tuple[str, ...] = FILTERS,
         log=print) -> list[dict]:
    """One row per (space, index type, nprobe), then one per (space, country filter) on the home's
    own index: the exact search among the allowed ids against probing cells."""
    from bench.scale_home import _settings_for
    from index import catalog, multilingual, store, vectors
    from index.embedder import Embedder

    settings = _settings_for(home, catalog.read_manifest(home / "index"))
    conn = store.connect(home / "index" / catalog.DB_NAME, readonly=True)
    spaces = [("minilm", catalog.FAISS_NAME, lambda: store.all_embeddings(conn, 384),
               lambda: Embedder.for_queries(settings.index).embed_batch(queries))]
    if settings.index.multilingual != "off":
        spaces.append(("e5", catalog.ML_FAISS_NAME, lambda: store.ml_embeddings(conn, multilingual.DIMENSION),
                       lambda: multilingual.MultilingualEncoder.for_settings(settings.index).queries(queries)))
    rows = []
    try:
        for space, file_name, stored, encode in spaces:
            ids, vecs = stored()
            sets = {"dev": np.asarray(encode(), dtype=np.float32), "near": _near(vecs, near)}
            truth = {name: _exact_top(ids, vecs, q, 100) for name, q in sets.items()}
            for kind in kinds:
                rows.extend(_sweep(space, kind, _index(home / "index" / file_name, ids, vecs, kind), sets, truth,
                                   nprobes, len(ids), log))
            if filters:
                index = vectors.read_index(home / "index" / file_name)
                for country in filters:
                    allowed = np.fromiter(store.filtered_vec_ids(conn, countries=[country]), dtype=np.int64)
                    if not len(allowed):
                        continue
                    rows.append(_filtered(space, index, country, allowed, ids, vecs, sets["dev"], log))
                del index
            del ids, vecs
    finally:
        conn.close()
    return rows


def _index(path, ids, vecs, kind: str):
    """The home's own FAISS file when it is of this type, else one built the way ingest builds it."""
    from index import vectors

    existing = vectors.describe_file(path) or ""
    if existing.split(" ")[0] == kind:
        return vectors.read_index(path)
    return vectors.build_index(vecs.shape[1], ids, vecs, kind)


def _sweep(space: str, kind: str, index, sets: dict, truth: dict, nprobes, n: int, log) -> list[dict]:
    import faiss

    from index import vectors

    ivf = faiss.extract_index_ivf(index)
    rows = []
    for nprobe in nprobes:
        if nprobe > ivf.nlist:
            continue
        ivf.nprobe = nprobe
        row = {"section": "ivf-tuning", "space": space, "n": n, "index": vectors.index_type(index),
               "index_mb": _faiss_mb(index)}
        for name, q in sets.items():
            lat, found = [], []
            for vec in q:
                started = time.perf_counter()
                found.append(np.pad(vectors.search(index, vec, 100)[1], (0, 100), constant_values=-1)[:100])
                lat.append((time.perf_counter() - started) * 1000)
            found = np.stack(found)
            row[f"{name}_recall@10"] = round(recall_at(found, truth[name], 10), 4)
            row[f"{name}_recall@100"] = round(recall_at(found, truth[name], 100), 4)
            row[f"{name}_p50_ms"] = round(float(np.percentile(lat, 50)), 2)
            row[f"{name}_p95_ms"] = round(float(np.percentile(lat, 95)), 2)
        log(row)
        rows.append(row)
    return rows


def _filtered(space: str, index, country: str, allowed: np.ndarray, ids, vecs, queries, log) -> dict:
    """A country filter searched both ways (vectors.search): the nearest cells holding allowed
    vectors, and nprobe / share cells of all; recall@10 against exact search over the allowed."""
    from index import vectors

    rows = np.searchsorted(ids, np.sort(allowed))
    truth = _exact_top(ids[rows], vecs[rows], queries, 10)
    row = {"section": "ivf-filter", "space": space, "index": vectors.index_type(index), "country": country,
           "allowed": len(allowed)}
    saved = vectors.FILTER_BY_CELLS
    try:
        for label, by_cells in (("cells", True), ("share", False)):
            vectors.FILTER_BY_CELLS = by_cells
            vectors.search(index, queries[0], 10, allowed)  # the first filtered search reads the cell map
            lat, found = [], []
            for q in queries:
                started = time.perf_counter()
                found.append(np.pad(vectors.search(index, q, 10, allowed)[1], (0, 10), constant_values=-1)[:10])
                lat.append((time.perf_counter() - started) * 1000)
            row[f"{label}_recall@10"] = round(recall_at(np.stack(found), truth, 10), 4)
            row[f"{label}_p50_ms"] = round(float(np.percentile(lat, 50)), 2)
            row[f"{label}_p95_ms"] = round(float(np.percentile(lat, 95)), 2)
    finally:
        vectors.FILTER_BY_CELLS = saved
    log(row)
    return row


def _near(vecs: np.ndarray, n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q = vecs[rng.choice(len(vecs), min(n, len(vecs)), replace=False)]
    q = q + (0.5 / np.sqrt(vecs.shape[1])) * rng.standard_normal(q.shape, dtype=np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def tune_bench(home, queries_path, *, results, echo=print) -> list[dict]:
    """`python -m bench --tune-ivf --home DIR`: the table printed, JSON lines appended to `results`."""
    import json
    from pathlib import Path

    from bench import runner
    from bench.scale_home import _settings_for
    from index import catalog
    from search.evaluation import load_queries

    home = Path(home)
    ctx = runner.context(_settings_for(home, catalog.read_manifest(home / "index")))
    rows = tune(home, [q.query for q in load_queries(queries_path)], log=lambda r: None)
    with Path(results).open("a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({**ctx, **row}) + "\n")
    echo(runner.format_table(ctx, rows))
    return rows

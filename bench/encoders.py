"""Encoder variants side by side, in one process and interleaved (the machine may be shared).

    python -m bench.encoders [--chunks 500] [--reps 3]

Reads chunk texts from the current index (read-only) and queries from the dev set; prints chunks/s,
the ratio to torch-fp32, cosine to torch-fp32 (min/mean) and single-query latency p50/p95.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from index import catalog, store
from index.embedder import ENCODERS, Embedder
from ui.settings import load_settings

DEV = "/work/shared/eval/dev.jsonl"


def compare(texts: list[str], queries: list[str], reps: int, models_dir) -> dict[str, dict]:
    model = load_settings().index.model_name
    embedders = {v: Embedder(model, encoder=v, models_dir=models_dir) for v in ENCODERS}
    for e in embedders.values():  # warm up
        e.embed_batch(texts[:32])
    ref = embedders["torch-fp32"].embed_batch(texts)
    rows = {v: {"rates": [], "latencies_ms": []} for v in embedders}
    for _ in range(reps):
        for name, e in embedders.items():
            started = time.perf_counter()
            vecs = e.embed_batch(texts)
            rows[name]["rates"].append(len(texts) / (time.perf_counter() - started))
            cos = (vecs * ref).sum(1)
            rows[name]["cosine"] = (float(cos.min()), float(cos.mean()))
        for query in queries:
            for name, e in embedders.items():
                started = time.perf_counter()
                e.embed(query)
                rows[name]["latencies_ms"].append((time.perf_counter() - started) * 1000)
    base = float(np.median(rows["torch-fp32"]["rates"]))
    return {name: {"chunks_per_s": round(float(np.median(r["rates"])), 1),
                   "ratio": round(float(np.median(r["rates"])) / base, 2),
                   "cos_min": round(r["cosine"][0], 5), "cos_mean": round(r["cosine"][1], 5),
                   "query_p50_ms": round(float(np.percentile(r["latencies_ms"], 50)), 1),
                   "query_p95_ms": round(float(np.percentile(r["latencies_ms"], 95)), 1)}
            for name, r in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=500)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    settings = load_settings()
    conn = store.connect(settings.index_dir / catalog.DB_NAME, readonly=True)
    texts = [r.text for r in store.chunk_texts(conn)]
    rng = np.random.default_rng(0)
    texts = [texts[i] for i in sorted(rng.choice(len(texts), min(args.chunks, len(texts)), replace=False))]
    with open(DEV, encoding="utf-8") as fh:
        queries = [json.loads(line)["query"] for line in fh][:40]
    for name, row in compare(texts, queries, args.reps, settings.index.models_cache).items():
        print(json.dumps({"encoder": name, **row}))


if __name__ == "__main__":
    main()

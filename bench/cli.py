"""`python -m bench` and `thb bench`: the command line of bench/runner.py."""
from __future__ import annotations

from pathlib import Path

import click

from ui.settings import load_settings

SECTIONS = ("ingest", "query", "scale", "quality")
_SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


@click.command()
@click.option("--ingest", "s_ingest", is_flag=True, help="Ingest: PDF pages/s, pipeline vs raw encoder chunks/s, peak memory.")
@click.option("--query", "s_query", is_flag=True, help="Query: warm Searcher.search p50/p95 and cold start of `thb search`.")
@click.option("--scale", "s_scale", is_flag=True, help="FAISS at 100k and 1M synthetic vectors: latency, memory, recall@10.")
@click.option("--quality", "s_quality", is_flag=True, help="Dev-set nDCG@10 / Recall@10 of hybrid search.")
@click.option("--retag", "s_retag", is_flag=True,
              help="Re-tag a scratch copy of the index from stored vectors: seconds, chunks, tagger version.")
@click.option("--quick", is_flag=True, help="CI-size run: small scale set, fewer repeats.")
@click.option("--big", is_flag=True, help="Add 3M vectors to --scale (slow).")
@click.option("--hnsw", is_flag=True, help="Add HNSW to --scale (slow to build on 2 cores).")
@click.option("--home", type=click.Path(path_type=Path), help="Index to query (default: $THB_HOME).")
@click.option("--corpus", type=click.Path(path_type=Path), default=_SHARED / "corpus", show_default=True)
@click.option("--queries", type=click.Path(path_type=Path), default=_SHARED / "eval" / "dev.jsonl", show_default=True)
@click.option("--engines", default="local", show_default=True,
              help="Ingest engines to time side by side, comma-separated (local, ray).")
@click.option("--results", type=click.Path(path_type=Path), default=None, help="JSON Lines file to append to (default: bench/results.jsonl).")
@click.option("--end-to-end", "s_e2e", is_flag=True,
              help="Warm search on the home of --home (e.g. one grown by bench.scale_home): p50/p95, memory, "
                   "recall@10 of each vector index against exact search. Runs alone.")
@click.option("--profile", type=click.Path(path_type=Path), default=None,
              help="With --end-to-end: one cProfile'd pass over the queries, stats written to this file.")
@click.option("--tune-ivf", "s_tune", is_flag=True,
              help="IVF-Flat and IVF-SQ8 at several nprobe on the vectors of --home: recall@10/@100 against "
                   "exact search and latency, both spaces (bench/ivf_tuning.py). Runs alone.")
def bench(s_ingest, s_query, s_scale, s_quality, s_retag, quick, big, hnsw, home, corpus, queries, engines, results,
          s_e2e=False, profile=None, s_tune=False):
    """Benchmark ingest, query, scale and quality; print a table, append JSON lines.

    \b
    Example:
      thb bench --query --quality          # on the index in $THB_HOME
      thb bench --scale --quick
      python -m bench --end-to-end --home /work/coord/scale-100k
    With no section flag, all four run.
    """
    from bench import runner  # numpy and the rest load when a benchmark runs, not with `thb`

    if s_tune:
        from bench.ivf_tuning import tune_bench

        tune_bench(home or load_settings().home, queries, results=results or runner.RESULTS, echo=click.echo)
        return
    if s_e2e:
        from bench.scale import end_to_end_bench

        end_to_end_bench(home or load_settings().home, queries, results=results or runner.RESULTS,
                         quick=quick, profile=profile, echo=click.echo)
        return

    chosen = {name for name, on in zip(SECTIONS, (s_ingest, s_query, s_scale, s_quality)) if on}
    chosen = (chosen or (set() if s_retag else set(SECTIONS))) | ({"retag"} if s_retag else set())
    settings = load_settings(home=home)
    runner.run(settings, sections=chosen, quick=quick, big=big, hnsw=hnsw, corpus=corpus, queries=queries,
               results=results or runner.RESULTS, echo=click.echo,
               engines=tuple(e.strip() for e in engines.split(",") if e.strip()))

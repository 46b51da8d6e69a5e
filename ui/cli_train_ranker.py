"""`thb train-ranker`: fit the learned ranker on labelled queries and report it cross-validated."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ui.settings import load_settings


@click.command(name="train-ranker")
@click.option("--queries", "queries_file", required=True, type=click.Path(exists=True, path_type=Path),
              help="Queries with evidence passages (../shared/eval/dev.jsonl format).")
@click.option("-C", "c", type=float, default=1.0, show_default=True, help="Inverse regularisation strength.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Where to write the weights (default: search/ranker_weights/ranker-v1.json).")
@click.option("--dry-run", is_flag=True, help="Measure only; write no weights.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def train_ranker(ctx, queries_file, c, out, dry_run, as_json):
    """Train the learned ranker (THB_RANKER=learned) on the index's candidates for QUERIES.

    Prints nDCG@10, Recall@10 and MRR@10 per kind for the hand-set fusion, the learned ranker
    under 5-fold cross-validation over queries (grouped by qid), and in-sample.

    \b
    Example:
      thb train-ranker --queries ../shared/eval/dev.jsonl
    """
    from search.engine import Searcher
    from search.evaluation import load_queries
    from search.ranker import DEFAULT_WEIGHTS
    from search.ranker_training import train
    from ui.cli import _print_eval_table

    settings = load_settings(home=(ctx.obj or {}).get("home"))
    queries = load_queries(queries_file)
    searcher = Searcher(settings.search)
    result = train(searcher, queries, c=c)
    for per_kind in result.table.values():
        per_kind["all"]["seconds_per_query"] = 0.0
    if as_json:
        click.echo(json.dumps({"table": result.table, "weights": result.model.to_json()}, indent=2))
    else:
        _print_eval_table(result.table, 10)
        click.echo(f"{result.positives} relevant of {result.candidates} candidates")
        for name, w in zip(result.model.names, result.model.coef):
            click.echo(f"  {name:<22} {w:+.3f}")
    cv = result.table["learned (5-fold CV)"]["all"]["ndcg"]
    inside = result.table["learned (in-sample)"]["all"]["ndcg"]
    click.echo(f"in-sample {inside:.3f} vs cross-validated {cv:.3f}: gap {inside - cv:+.3f} "
               f"({'within' if abs(inside - cv) <= 0.05 else 'OVER'} the .05 guard)")
    if not dry_run:
        path = out or DEFAULT_WEIGHTS
        result.model.save(path)
        click.echo(f"weights written to {path}")

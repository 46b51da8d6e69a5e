"""`thb tag` and `thb retag`: thematic-priority tagging from the command line."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ingest.errors import UsageError
from ingest.settings import load_settings


def _settings(ctx, taxonomy: Path | None):
    home = (ctx.obj or {}).get("home")
    return load_settings(home=home, taxonomy=taxonomy)


def _read_lines(input_file: Path | None) -> list[dict]:
    if input_file is None:
        raw = sys.stdin.read()
        where = "stdin"
    else:
        raw = input_file.read_text(encoding="utf-8")
        where = str(input_file)
    rows = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}:{n}: not JSON ({exc.msg}); give one JSON object a line") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise UsageError(f"{where}:{n}: each line needs a string 'text' field")
        rows.append(row)
    return rows


def priority_metrics(gold: list[list[str]], predicted: list[list[str]], ids: tuple[str, ...]) -> dict:
    """Per-priority precision/recall/F1 and macro-F1 over the given priority ids."""
    per = {}
    for pid in ids:
        tp = sum(1 for g, p in zip(gold, predicted) if pid in g and pid in p)
        fp = sum(1 for g, p in zip(gold, predicted) if pid not in g and pid in p)
        fn = sum(1 for g, p in zip(gold, predicted) if pid in g and pid not in p)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[pid] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                    "support": tp + fn}
    macro = sum(m["f1"] for m in per.values()) / len(per) if per else 0.0
    return {"per_priority": per, "macro_f1": round(macro, 4), "passages": len(gold)}


@click.command()
@click.option("--input", "input_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON Lines with a 'text' field (default: stdin).")
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Taxonomy TOML (default: settings.taxonomy, THB_TAXONOMY).")
@click.option("--eval", "evaluate", is_flag=True,
              help="Input lines carry gold 'priorities': print per-priority P/R/F1 and macro-F1 to stderr.")
@click.pass_context
def tag(ctx, input_file, taxonomy, evaluate):
    """Tag passages with thematic priorities; prints the lines back with `priorities` and scores.

    \b
    Examples:
      thb tag --input passages.jsonl > tagged.jsonl
      thb tag --input ../shared/eval/priority_dev.jsonl --eval > /dev/null
    """
    from index.tagging import load_tagger

    rows = _read_lines(input_file)
    tagger = load_tagger(_settings(ctx, taxonomy))
    results = tagger.score_texts([r["text"] for r in rows], None)
    for row, (prios, scores) in zip(rows, results):
        out = dict(row)
        if evaluate and "priorities" in row:
            out["gold_priorities"] = row["priorities"]
        out["priorities"] = prios
        out["priority_scores"] = scores
        click.echo(json.dumps(out, ensure_ascii=False))
    if evaluate:
        labelled = [(r["priorities"], p) for r, (p, _s) in zip(rows, results) if isinstance(r.get("priorities"), list)]
        if not labelled:
            raise UsageError("--eval needs input lines with gold 'priorities' lists")
        metrics = priority_metrics([g for g, _ in labelled], [p for _, p in labelled], tagger.ids)
        _print_metrics(metrics, tagger.taxonomy.id)


def _print_metrics(metrics: dict, taxonomy_id: str) -> None:
    click.echo(f"taxonomy {taxonomy_id}; {metrics['passages']} labelled passages", err=True)
    click.echo(f"{'priority':<24} {'P':>6} {'R':>6} {'F1':>6} {'n':>4}", err=True)
    for pid, m in metrics["per_priority"].items():
        click.echo(f"{pid:<24} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f} {m['support']:>4}", err=True)
    click.echo(f"{'macro-F1':<24} {'':>6} {'':>6} {metrics['macro_f1']:>6.3f}", err=True)


@click.command()
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Taxonomy TOML to tag with (default: settings.taxonomy, THB_TAXONOMY).")
@click.pass_context
def retag(ctx, taxonomy):
    """Re-tag every chunk in the index from stored embeddings (no re-embedding).

    \b
    Example:
      thb retag --taxonomy corpus/taxonomy/cbss-tf-thb-2012-2014.toml
    """
    from index.tagging import retag_index

    settings = _settings(ctx, taxonomy)
    count = retag_index(settings, settings.taxonomy)
    click.echo(f"re-tagged {count} chunks with {settings.taxonomy.name}")

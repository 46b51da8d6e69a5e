"""`thb tag` and `thb retag`: thematic-priority tagging from the command line."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ingest.errors import UsageError
from ui.settings import load_settings


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


def confusions(gold: list[list[str]], predicted: list[list[str]], top: int = 8) -> dict:
    """Confusion summary of a multi-label run: exact matches, passages left untagged or tagged when
    gold has none, and the commonest (missed gold priority -> priority tagged instead) pairs."""
    pairs: dict[tuple[str, str], int] = {}
    for g, p in zip(gold, predicted):
        for missed in set(g) - set(p):
            for instead in (set(p) - set(g)) or {"(none)"}:
                pairs[(missed, instead)] = pairs.get((missed, instead), 0) + 1
    ranked = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {"exact": sum(1 for g, p in zip(gold, predicted) if set(g) == set(p)),
            "untagged_with_gold": sum(1 for g, p in zip(gold, predicted) if g and not p),
            "tagged_without_gold": sum(1 for g, p in zip(gold, predicted) if not g and p),
            "passages": len(gold),
            "pairs": [{"gold": a, "tagged_instead": b, "count": n} for (a, b), n in ranked]}


@click.command()
@click.option("--input", "input_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON Lines with a 'text' field (default: stdin).")
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Taxonomy TOML (default: settings.index.taxonomy, THB_TAXONOMY).")
@click.option("--eval", "evaluate", is_flag=True,
              help="Input lines carry gold 'priorities': print per-priority P/R/F1, macro-F1 and a confusion "
                   "summary to stderr.")
@click.option("--cv", "cv_folds", type=click.IntRange(2, 20), default=None,
              help="With --eval: nested cross-validation with this many folds (by document), today's "
                   "similarity+terms tagger beside the trained one, with and without the project's labels.")
@click.option("--variants", is_flag=True,
              help="With --cv: also compare the candidate taggers of index/tag_variants.py (CV and in-sample).")
@click.option("--train", "do_train", is_flag=True,
              help="Train the tagger on the input's gold passages (plus the taxonomy's labels file and text) "
                   "and save its weights beside the taxonomy (<taxonomy>.tagger.npz).")
@click.option("--labels", "labels_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Extra labelled passages (default: <taxonomy>.labels.jsonl beside the taxonomy, if present).")
@click.option("--no-labels", is_flag=True, help="Train (or cross-validate) without the extra labelled passages.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the figures as JSON to this file.")
@click.pass_context
def tag(ctx, input_file, taxonomy, evaluate, cv_folds, variants, do_train, labels_file, no_labels, report_file):
    """Tag passages with thematic priorities; prints the lines back with `priorities` and scores.

    \b
    Examples:
      thb tag --input passages.jsonl > tagged.jsonl
      thb tag --input ../shared/eval/priority_dev.jsonl --eval > /dev/null
      thb tag --input ../shared/eval/priority_dev.jsonl --eval --cv 5 > /dev/null
      thb tag --input ../shared/eval/priority_dev.jsonl --train
    """
    from index.tagging import load_tagger

    if cv_folds and not evaluate:
        raise click.UsageError("--cv needs --eval")
    rows = _read_lines(input_file)
    settings = _settings(ctx, taxonomy)
    report: dict = {}
    if do_train or cv_folds:
        from ui.cli_tag_train import cross_validated, train_weights

        gold_rows = _gold_rows(rows)
        extra = None if no_labels else (labels_file or _default_labels(settings.index.taxonomy))
        if cv_folds:
            report["cv"] = cross_validated(settings, gold_rows, extra, cv_folds, variants)
        if do_train:
            report["trained"] = train_weights(settings, gold_rows, extra, input_file)
    tagger = load_tagger(settings.index)
    results = tagger.score_texts([r["text"] for r in rows], None)
    for n, (row, (prios, scores)) in enumerate(zip(rows, results)):
        out = dict(row)
        if evaluate and "priorities" in row:
            out["gold_priorities"] = row["priorities"]
        out["priorities"] = prios
        out["priority_scores"] = scores
        if "cv" in report:
            out["cv_priorities"] = report["cv"]["predictions"][n]
        click.echo(json.dumps(out, ensure_ascii=False))
    if evaluate and not cv_folds:
        labelled = _gold_rows(rows)
        predicted = [p for r, (p, _s) in zip(rows, results) if isinstance(r.get("priorities"), list)]
        gold = [r["priorities"] for r in labelled]
        report["eval"] = {"tagger": tagger.describe(), **priority_metrics(gold, predicted, tagger.ids),
                          "confusions": confusions(gold, predicted)}
        _print_metrics(report["eval"], f"{tagger.taxonomy.id} ({tagger.method}, {tagger.version})")
        if _trained_on(tagger, labelled):
            click.echo("note: the tagger was trained on these passages: in-sample figures; --cv 5 gives "
                       "cross-validated ones", err=True)
        _print_confusions(report["eval"]["confusions"])
    if report_file:
        report.get("cv", {}).pop("predictions", None)
        report_file.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")


def _gold_rows(rows: list[dict]) -> list[dict]:
    labelled = [r for r in rows if isinstance(r.get("priorities"), list)]
    if not labelled:
        raise UsageError("--eval, --cv and --train need input lines with gold 'priorities' lists")
    return labelled


def _trained_on(tagger, gold_rows: list[dict]) -> bool:
    import hashlib

    if tagger.weights is None:
        return False
    digest = hashlib.sha256("\n".join(r["text"] for r in gold_rows).encode()).hexdigest()[:16]
    return (tagger.weights.training.get("sources") or {}).get("input_sha256") == digest


def _default_labels(taxonomy_path: Path) -> Path | None:
    from index.tag_model import labels_path

    path = labels_path(taxonomy_path)
    return path if path.is_file() else None


def _print_metrics(metrics: dict, title: str) -> None:
    click.echo(f"{title}; {metrics['passages']} labelled passages", err=True)
    click.echo(f"{'priority':<24} {'P':>6} {'R':>6} {'F1':>6} {'n':>4}", err=True)
    for pid, m in metrics["per_priority"].items():
        click.echo(f"{pid:<24} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f} {m['support']:>4}", err=True)
    click.echo(f"{'macro-F1':<24} {'':>6} {'':>6} {metrics['macro_f1']:>6.3f}", err=True)


def _print_confusions(conf: dict) -> None:
    click.echo(f"exact label sets {conf['exact']}/{conf['passages']}; untagged though gold has priorities "
               f"{conf['untagged_with_gold']}; tagged though gold has none {conf['tagged_without_gold']}", err=True)
    for pair in conf["pairs"]:
        click.echo(f"  missed {pair['gold']:<22} tagged instead {pair['tagged_instead']:<22} x{pair['count']}", err=True)


@click.command()
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Taxonomy TOML to tag with (default: settings.index.taxonomy, THB_TAXONOMY).")
@click.pass_context
def retag(ctx, taxonomy):
    """Re-tag every chunk in the index from stored embeddings (no re-embedding).

    \b
    Example:
      thb retag --taxonomy corpus/taxonomy/cbss-tf-thb-2012-2014.toml
    """
    from index.tagging import retag_index

    import time

    settings = _settings(ctx, taxonomy)
    started = time.perf_counter()
    count, described = retag_index(settings.index, settings.index.taxonomy, with_tagger=True)
    click.echo(f"re-tagged {count} chunks with {settings.index.taxonomy.name} ({described['method']}, "
               f"{described['version']}) in {time.perf_counter() - started:.1f} s")

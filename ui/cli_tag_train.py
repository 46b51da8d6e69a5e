"""`thb tag --train` and `thb tag --eval --cv N`: training and nested cross-validation of the tagger.

Thin: reads the labelled passages, calls index.tag_training, prints the figures to stderr.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import click
import numpy as np

from ingest.errors import UsageError


def _passages(gold_rows: list[dict], source: str):
    from index.tag_training import LabelledPassage

    return [LabelledPassage(r["text"], tuple(r["priorities"]), r.get("path") or f"{source}:{n}", source)
            for n, r in enumerate(gold_rows, 1)]


_ENCODED: dict = {}


def _encoded(settings, gold_rows: list[dict], extra_path: Path | None):
    """(tagger without weights, base prototypes, evaluation rows, taxonomy rows, label rows), encoded
    (once per process and input: --cv and --train in one run embed the passages once)."""
    key = (str(settings.index.taxonomy), str(extra_path), settings.index.model_name, tuple(r["text"] for r in gold_rows))
    if key not in _ENCODED:
        _ENCODED.clear()
        _ENCODED[key] = _encode_all(settings, gold_rows, extra_path)
    return _ENCODED[key]


def _encode_all(settings, gold_rows: list[dict], extra_path: Path | None):
    from index import tag_training as tt
    from index.tag_model import Prototypes
    from index.tagging import load_tagger

    tagger = load_tagger(settings.index, trained=False)
    tax_rows, owner, kind = tt.taxonomy_examples(tagger.taxonomy)
    try:
        extra_rows = tt.read_labelled(extra_path, "labels") if extra_path else []
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    unknown = sorted(({p for r in gold_rows for p in r["priorities"]} | {p for r in extra_rows for p in r.priorities})
                     - set(tagger.ids))
    if unknown:
        raise UsageError(f"gold priorities not in taxonomy {tagger.taxonomy.id}: {', '.join(unknown)}")
    evaluation = tt.encode(tagger, _passages(gold_rows, "eval"))
    taxonomy = tt.encode(tagger, tax_rows)
    labels = tt.encode(tagger, extra_rows) if extra_rows else None
    params = tagger.taxonomy.tagging
    baseline = np.asarray([params.dense_weight, params.dense_floor, params.dense_ceiling, params.term_saturation],
                          dtype=np.float32) if tt.BASELINE_FEATURE else np.zeros(0, dtype=np.float32)
    base = Prototypes(taxonomy.minilm, taxonomy.ml, owner, kind, baseline=baseline)
    return tagger, base, evaluation, taxonomy, labels


def cross_validated(settings, gold_rows: list[dict], extra_path: Path | None, folds: int,
                    variants: bool = False) -> dict:
    """Today's tagger and the trained one (nested CV, with and without the extra labels), printed."""
    from index import tag_training as tt
    from ui.cli_tag import _print_confusions, confusions, priority_metrics

    started = time.perf_counter()
    tagger, base, evaluation, taxonomy, labels = _encoded(settings, gold_rows, extra_path)
    gold = [list(p.priorities) for p in evaluation.passages]
    n_docs = len(set(evaluation.groups))
    if n_docs < folds:
        raise UsageError(f"--cv {folds} needs at least {folds} documents, the input has {n_docs}")
    baseline = [p for p, _s in tagger.score_texts([p.text for p in evaluation.passages], evaluation.minilm)]
    runs = {"similarity+terms (today, no training)": baseline}
    folds_info = {}
    runs["trained, dev only (nested CV)"], folds_info["dev_only"] = tt.cross_validate(
        evaluation, taxonomy, base, tagger.ids, folds=folds)
    if labels is not None:
        runs[f"trained, dev + {len(labels)} labels (nested CV)"], folds_info["with_labels"] = tt.cross_validate(
            evaluation, tt.concat(taxonomy, labels), base, tagger.ids, folds=folds)
    metrics = {name: priority_metrics(gold, pred, tagger.ids) for name, pred in runs.items()}
    _print_comparison(metrics, tagger.taxonomy.id, folds, n_docs)
    best = list(runs)[-1]
    conf = confusions(gold, runs[best])
    click.echo(f"confusions of {best}:", err=True)
    _print_confusions(conf)
    out = {"folds": folds, "documents": n_docs, "metrics": metrics, "confusions": conf, "fold_thresholds": folds_info,
           "predictions": runs[best]}
    if variants:
        out["variants"] = _variants(tagger, base, evaluation, taxonomy, labels, gold, baseline, folds, n_docs)
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def _variants(tagger, base, evaluation, taxonomy, labels, gold, baseline, folds: int, n_docs: int) -> dict:
    """Every candidate of index/tag_variants.py, with and without the extra labels: CV and in-sample."""
    from index import tag_training as tt
    from index import tag_variants
    from ui.cli_tag import priority_metrics

    extras = {"dev + taxonomy text": taxonomy}
    if labels is not None:
        extras[f"dev + taxonomy text + {len(labels)} labels"] = tt.concat(taxonomy, labels)
    report = {}
    for extra_name, extra in extras.items():
        runs = tag_variants.compare(evaluation, extra, base, tagger.ids, folds)
        cv = {"similarity+terms (today, hand-set)": priority_metrics(gold, baseline, tagger.ids)}
        cv.update({name: priority_metrics(gold, held, tagger.ids) for name, (held, _ins) in runs.items()})
        insample = {name: priority_metrics(gold, ins, tagger.ids)["macro_f1"] for name, (_h, ins) in runs.items()}
        click.echo(f"\nvariants trained on {extra_name}: cross-validated (thresholds from training folds only)", err=True)
        _print_comparison(cv, tagger.taxonomy.id, folds, n_docs)
        click.echo("in-sample macro-F1 (trained and judged on all passages): " +
                   "; ".join(f"[{k + 2}] {v:.3f}" for k, v in enumerate(insample.values())), err=True)
        report[extra_name] = {"cv": cv, "in_sample_macro_f1": insample}
    return report


def _print_comparison(metrics: dict, taxonomy_id: str, folds: int, n_docs: int) -> None:
    names = list(metrics)
    first = metrics[names[0]]
    click.echo(f"taxonomy {taxonomy_id}; {first['passages']} labelled passages from {n_docs} documents; "
               f"{folds}-fold cross-validation by document", err=True)
    for k, name in enumerate(names):
        click.echo(f"  [{k + 1}] {name}", err=True)
    head = " ".join(f"{f'[{k + 1}] P':>8} {'R':>6} {'F1':>6}" for k in range(len(names)))
    click.echo(f"{'priority':<22} {'n':>3} {head}", err=True)
    for pid in first["per_priority"]:
        cells = " ".join(f"{metrics[n]['per_priority'][pid]['precision']:>8.3f} "
                         f"{metrics[n]['per_priority'][pid]['recall']:>6.3f} "
                         f"{metrics[n]['per_priority'][pid]['f1']:>6.3f}" for n in names)
        click.echo(f"{pid:<22} {first['per_priority'][pid]['support']:>3} {cells}", err=True)
    cells = " ".join(f"{'':>8} {'':>6} {metrics[n]['macro_f1']:>6.3f}" for n in names)
    click.echo(f"{'macro-F1':<22} {'':>3} {cells}", err=True)


def train_weights(settings, gold_rows: list[dict], extra_path: Path | None, input_file: Path | None) -> dict:
    """Train on everything given and save the weights beside the taxonomy."""
    from index import tag_training as tt
    from index.tag_model import save_weights, weights_path

    tagger, base, evaluation, taxonomy, labels = _encoded(settings, gold_rows, extra_path)
    data = tt.concat(evaluation, taxonomy, *([labels] if labels is not None else []))
    model = tt.train(data, base)
    sources = {"input": str(input_file or "stdin"), "labels": str(extra_path) if extra_path else None,
               "input_sha256": hashlib.sha256("\n".join(r["text"] for r in gold_rows).encode()).hexdigest()[:16]}
    weights = tt.to_weights(model, tagger, data, sources=sources)
    path = weights_path(settings.index.taxonomy)
    save_weights(weights, path)
    click.echo(f"trained {weights.version} on {len(data)} examples "
               f"({', '.join(f'{n} {s}' for s, n in weights.training['examples'].items())}); wrote {path}", err=True)
    click.echo("thresholds: " + ", ".join(f"{p} {t:.2f}" for p, t in zip(weights.priority_ids, weights.thresholds)),
               err=True)
    return weights.meta()

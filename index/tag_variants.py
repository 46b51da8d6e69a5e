"""Candidate taggers compared under one nested cross-validation (`thb tag --eval --cv 5 --variants`).

Each variant is a feature set for one class-weighted L2 logistic regression per priority
(index/tag_training.py `_fit_one`), or today's similarity+terms score itself; every variant's
per-priority thresholds are chosen on out-of-fold scores inside the training data only
(`tag_training.best_threshold`, GroupKFold by document), never on the test fold. Blocks:
- `protos`: the trained tagger's features (index/tag_model.py: cosine to each priority's
  description and seed-term lists in both spaces, today's score, log seed-term counts);
- `today`: today's similarity+terms score per priority (the taxonomy's [tagging] table);
- `cues`: log(1 + distinct seed terms) per priority;
- `e5`: the multilingual-e5 passage vector itself (384 numbers).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index import tag_training as tt
from index.tag_model import Prototypes

VARIANTS = {
    "today's score, per-priority thresholds from training folds": ("today_only", 1.0),
    "LR: similarity features + today + cues (the trained tagger)": (("protos",), tt.C),
    "LR: today + cues + e5 vector": (("today", "cues", "e5"), tt.C),
    "LR: similarity features + today + cues + e5 vector": (("protos", "e5"), tt.C),
}


def today_scores(base: Prototypes, data: tt.Encoded) -> np.ndarray:
    """Today's similarity+terms score of each priority (the `baseline` block of the features)."""
    weight, floor, ceiling, saturation = (float(v) for v in base.baseline)
    desc = np.asarray(data.minilm, dtype=np.float32) @ base.minilm[base.kind == 0].T
    dense = np.clip((desc - floor) / max(1e-6, ceiling - floor), 0.0, 1.0)
    return weight * dense + (1.0 - weight) * np.minimum(1.0, data.counts / max(1.0, saturation))


def features(base: Prototypes, data: tt.Encoded, blocks: tuple[str, ...]) -> np.ndarray:
    parts = {"protos": lambda: base.features(data.minilm, data.ml, data.counts),
             "today": lambda: today_scores(base, data), "cues": lambda: np.log1p(data.counts),
             "e5": lambda: np.asarray(data.ml, dtype=np.float32)}
    return np.hstack([parts[b]() for b in blocks]).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Fitted:
    """A fitted variant: scores (n x priorities) of any encoded passages."""

    base: Prototypes
    blocks: tuple[str, ...] | str
    coef: np.ndarray | None = None
    intercept: np.ndarray | None = None

    def scores(self, data: tt.Encoded) -> np.ndarray:
        if self.blocks == "today_only":
            return today_scores(self.base, data)
        return tt.sigmoid_scores(features(self.base, data, self.blocks), self.coef, self.intercept)


def fit(data: tt.Encoded, base: Prototypes, blocks, c: float) -> Fitted:
    if blocks == "today_only":
        return Fitted(base, blocks)
    x = features(base, data, blocks)
    fits = [tt._fit_one(x, data.y[:, j], data.weight, c) for j in range(data.y.shape[1])]
    return Fitted(base, blocks, np.asarray([f[0] for f in fits], dtype=np.float32),
                  np.asarray([f[1] for f in fits], dtype=np.float32))


def thresholds(data: tt.Encoded, base: Prototypes, blocks, c: float, folds: int = tt.INNER_FOLDS) -> np.ndarray:
    """Per-priority thresholds from out-of-fold scores inside `data` (taxonomy rows always train)."""
    from sklearn.model_selection import GroupKFold

    real = np.flatnonzero([p.source != "taxonomy" for p in data.passages])
    fixed = np.flatnonzero([p.source == "taxonomy" for p in data.passages])
    groups = data.groups[real]
    oof = np.zeros((len(real), data.y.shape[1]), dtype=np.float32)
    for train_i, test_i in GroupKFold(n_splits=min(folds, len(set(groups)))).split(real, groups=groups):
        oof[test_i] = fit(data.take(np.concatenate([real[train_i], fixed])), base, blocks, c).scores(
            data.take(real[test_i]))
    gold = data.y[real]
    return np.asarray([tt.best_threshold(oof[:, j], gold[:, j]) for j in range(gold.shape[1])], dtype=np.float32)


def predict(train: tt.Encoded, test: tt.Encoded, base: Prototypes, blocks, c: float, ids) -> list[list[str]]:
    cut = thresholds(train, base, blocks, c)
    return tt.select_labels(fit(train, base, blocks, c).scores(test), cut, ids, tt.MAX_LABELS)


def compare(evaluation: tt.Encoded, extra: tt.Encoded, base: Prototypes, ids, folds: int = 5) -> dict:
    """{variant: (held-out predictions, in-sample predictions)}, in evaluation order."""
    out = {}
    for name, (blocks, c) in VARIANTS.items():
        held: list[list[str]] = [[] for _ in range(len(evaluation))]
        for train_i, test_i, keep in tt.fold_plan(evaluation, extra, folds):
            rows = predict(tt.concat(evaluation.take(train_i), extra.take(keep)), evaluation.take(test_i),
                           base, blocks, c, ids)
            for i, row in zip(test_i, rows):
                held[i] = row
        out[name] = (held, predict(tt.concat(evaluation, extra), evaluation, base, blocks, c, ids))
    return out

"""Training and nested cross-validation of the priority tagger (index/tag_model.py).

Training data, all as `LabelledPassage`:
- labelled passages (JSON Lines {"path", "text", "priorities"}): the shared evaluation set and the
  project's own labels beside the taxonomy (`<taxonomy>.labels.jsonl`, guideline in
  corpus/taxonomy/LABELLING.md);
- the taxonomy's own text: each priority's description and, per language, its seed-term list, as
  positives of that priority (weight TAXONOMY_WEIGHT) and negatives of the others. The same texts,
  embedded, are the prototypes the features compare against.

Thresholds are never fitted on the passages they are judged on: inside any training set, a
GroupKFold by document gives out-of-fold probabilities, and each priority's threshold is the one
with the best F1 on those (ties: nearest 0.5). `cross_validate` wraps that in an outer GroupKFold by
document, so the reported figures are nested: no document is in both a training and a test fold.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.tag_model import Prototypes, TaggerWeights

log = logging.getLogger(__name__)

TAXONOMY_WEIGHT = 0.5   # a seed-term list is not a passage: it counts half
C = 0.1                 # inverse L2 strength on standardised features (0.3, with 3 labels: .726)
CENTROIDS = False       # True: cosine to the centroid of each priority's training positives (.731 against .742)
BASELINE_FEATURE = True  # today's similarity+terms score (the taxonomy's [tagging] table) as a feature block
OWN_FEATURES = False     # True: each priority sees only its own 7 cues (nested CV macro-F1 .59 against .69)
INNER_FOLDS = 4
MAX_LABELS = 2           # as the similarity+terms tagger (nested CV: .755; 3 labels with C=0.3: .726)
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)


@dataclass(frozen=True, slots=True)
class LabelledPassage:
    """A passage with its gold priorities; `group` keeps a document's passages in one fold."""

    text: str
    priorities: tuple[str, ...]
    group: str
    source: str = "labels"
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Encoded:
    """Both embeddings, seed-term counts and 0/1 labels of a list of passages, row for row."""

    passages: tuple[LabelledPassage, ...]
    minilm: np.ndarray
    ml: np.ndarray
    counts: np.ndarray
    y: np.ndarray  # (n x priorities)

    def take(self, mask: np.ndarray) -> "Encoded":
        mask = np.asarray(mask)
        idx = np.flatnonzero(mask) if mask.dtype == bool else mask
        return Encoded(tuple(self.passages[i] for i in idx), self.minilm[idx], self.ml[idx],
                       self.counts[idx], self.y[idx])

    @property
    def groups(self) -> np.ndarray:
        return np.asarray([p.group for p in self.passages])

    @property
    def weight(self) -> np.ndarray:
        return np.asarray([p.weight for p in self.passages], dtype=np.float64)

    def __len__(self) -> int:
        return len(self.passages)


def concat(*parts: Encoded) -> Encoded:
    parts = tuple(p for p in parts if len(p))
    return Encoded(tuple(q for p in parts for q in p.passages), *(np.vstack([getattr(p, k) for p in parts])
                                                                  for k in ("minilm", "ml", "counts", "y")))


def read_labelled(path: Path, source: str) -> list[LabelledPassage]:
    """Labelled passages from JSON Lines; the document path is the fold group."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row.get("text"), str) or not isinstance(row.get("priorities"), list):
            raise ValueError(f"{path}:{n}: needs a string 'text' and a 'priorities' list")
        rows.append(LabelledPassage(row["text"], tuple(row["priorities"]), row.get("path") or f"{path.name}:{n}",
                                    source))
    return rows


def taxonomy_examples(taxonomy) -> tuple[list[LabelledPassage], np.ndarray, np.ndarray]:
    """Each priority's label + description and its seed terms of each language, as positives;
    with the prototype owner (priority index) and kind (0 description, 1 terms) of each."""
    out, owner, kind = [], [], []
    for j, p in enumerate(taxonomy.priorities):
        group = f"taxonomy:{p.id}"
        out.append(LabelledPassage(f"{p.label}. {p.description}", (p.id,), group, "taxonomy", TAXONOMY_WEIGHT))
        owner.append(j), kind.append(0)
        for terms in p.terms.values():
            out.append(LabelledPassage("; ".join(terms), (p.id,), group, "taxonomy", TAXONOMY_WEIGHT))
            owner.append(j), kind.append(1)
    return out, np.asarray(owner, dtype=np.int32), np.asarray(kind, dtype=np.int8)


def encode(tagger, passages: list[LabelledPassage]) -> Encoded:
    """Embed the passages with both encoders and count their seed terms (index/tagging.Tagger)."""
    minilm, ml, counts = tagger.inputs([p.text for p in passages])
    y = np.asarray([[1 if pid in p.priorities else 0 for pid in tagger.ids] for p in passages], dtype=np.int8)
    return Encoded(tuple(passages), minilm, ml, counts, y)


@dataclass(frozen=True, slots=True)
class Model:
    """What training produces: prototypes (with centroids), regressions and thresholds."""

    prototypes: Prototypes
    coef: np.ndarray
    intercept: np.ndarray
    thresholds: np.ndarray

    def probabilities(self, data: Encoded) -> np.ndarray:
        x = self.prototypes.features(data.minilm, data.ml, data.counts)
        return 1.0 / (1.0 + np.exp(-np.clip(x @ self.coef.T + self.intercept, -40, 40)))


def sigmoid_scores(x: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """(n x priorities) probabilities of linear models on a feature matrix."""
    return 1.0 / (1.0 + np.exp(-np.clip(x @ coef.T + intercept, -40, 40)))


def _centroids(data: Encoded, vecs: np.ndarray) -> np.ndarray:
    out = []
    for j in range(data.y.shape[1]):
        pos = data.y[:, j] == 1
        c = (vecs[pos] * data.weight[pos, None]).sum(axis=0) if pos.any() else np.zeros(vecs.shape[1])
        out.append(c / max(1e-9, float(np.linalg.norm(c))))
    return np.asarray(out, dtype=np.float32)


def _fit_one(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """Standardised, class-weighted L2 logistic regression; returns coef and intercept on raw x."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.utils.class_weight import compute_sample_weight

    if y.min() == y.max():  # no positive (or no negative) example: a constant, never-firing model
        return np.zeros(x.shape[1]), -10.0 if y.max() == 0 else 10.0
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    model = LogisticRegression(C=c, max_iter=3000)
    model.fit((x - mean) / scale, y, sample_weight=w * compute_sample_weight("balanced", y))
    coef = model.coef_[0] / scale
    return coef, float(model.intercept_[0] - coef @ mean)


def own_columns(j: int, n_priorities: int, n_features: int) -> np.ndarray:
    """Priority j's own features: its column in every per-priority block of the layout."""
    return np.arange(j, n_features, n_priorities)


def fit_linear(data: Encoded, base: Prototypes, c: float | None = None, centroids: bool | None = None) -> Model:
    """One regression per priority on the features of `data` (thresholds left at 0.5)."""
    centroids = CENTROIDS if centroids is None else centroids
    c = C if c is None else c
    protos = base.with_centroids(_centroids(data, data.minilm), _centroids(data, data.ml)) if centroids else base
    x = protos.features(data.minilm, data.ml, data.counts)
    n_p = data.y.shape[1]
    coef = np.zeros((n_p, x.shape[1]), dtype=np.float32)
    fits = []
    for j in range(n_p):
        cols = own_columns(j, n_p, x.shape[1]) if OWN_FEATURES else np.arange(x.shape[1])
        w, b = _fit_one(x[:, cols], data.y[:, j], data.weight, c)
        coef[j, cols] = w
        fits.append((w, b))
    intercept = np.asarray([f[1] for f in fits], dtype=np.float32)
    return Model(protos, coef, intercept, np.full(len(fits), 0.5, dtype=np.float32))


def best_threshold(prob: np.ndarray, gold: np.ndarray) -> float:
    """The grid threshold with the best F1 of `prob >= t` against `gold` (ties: nearest 0.5)."""
    if gold.sum() == 0:
        return 0.5
    best, best_key = 0.5, None
    for t in THRESHOLDS:
        pred = prob >= t
        denom = pred.sum() + gold.sum()
        f1 = 2.0 * float((pred & (gold == 1)).sum()) / denom if denom else 0.0
        key = (round(f1, 9), -abs(t - 0.5))
        if best_key is None or key > best_key:
            best, best_key = float(t), key
    return best


def choose_thresholds(data: Encoded, base: Prototypes, c: float | None = None, folds: int = INNER_FOLDS) -> np.ndarray:
    """Per-priority thresholds from out-of-fold probabilities inside `data` (GroupKFold by document).

    Taxonomy examples always stay on the training side; only real passages are held out."""
    from sklearn.model_selection import GroupKFold

    real = np.flatnonzero([p.source != "taxonomy" for p in data.passages])
    fixed = np.flatnonzero([p.source == "taxonomy" for p in data.passages])
    groups = data.groups[real]
    n_splits = min(folds, len(set(groups)))
    if n_splits < 2:
        return np.full(data.y.shape[1], 0.5, dtype=np.float32)
    oof = np.zeros((len(real), data.y.shape[1]), dtype=np.float32)
    for train_i, test_i in GroupKFold(n_splits=n_splits).split(real, groups=groups):
        model = fit_linear(data.take(np.concatenate([real[train_i], fixed])), base, c)
        oof[test_i] = model.probabilities(data.take(real[test_i]))
    gold = data.y[real]
    return np.asarray([best_threshold(oof[:, j], gold[:, j]) for j in range(gold.shape[1])], dtype=np.float32)


def train(data: Encoded, base: Prototypes, c: float | None = None) -> Model:
    """Thresholds by inner cross-validation, then the regressions refitted on all of `data`."""
    c = C if c is None else c
    thresholds = choose_thresholds(data, base, c)
    model = fit_linear(data, base, c)
    return Model(model.prototypes, model.coef, model.intercept, thresholds)


def select_labels(prob: np.ndarray, thresholds: np.ndarray, ids: tuple[str, ...],
                  max_labels: int = MAX_LABELS) -> list[list[str]]:
    out = []
    for row in prob:
        order = sorted(range(len(ids)), key=lambda j: (-row[j], ids[j]))
        out.append([ids[j] for j in order if row[j] >= thresholds[j]][:max_labels])
    return out


def fold_plan(evaluation: Encoded, extra: Encoded, folds: int = 5):
    """Outer folds: (evaluation train rows, evaluation test rows, extra rows kept for training), a
    GroupKFold by document, with every extra row of a test document left out."""
    from sklearn.model_selection import GroupKFold

    groups = evaluation.groups
    for train_i, test_i in GroupKFold(n_splits=folds).split(groups, groups=groups):
        test_docs = set(groups[test_i])
        yield train_i, test_i, np.flatnonzero([p.group not in test_docs for p in extra.passages])


def cross_validate(evaluation: Encoded, extra: Encoded, base: Prototypes, ids: tuple[str, ...], *,
                   folds: int = 5, c: float | None = None) -> tuple[list[list[str]], list[dict]]:
    """Nested cross-validation: each outer fold (`fold_plan`) trains on the other evaluation
    passages plus the `extra` rows (labels, taxonomy text) of other documents, thresholds chosen
    inside that training data. Returns held-out predictions in evaluation order and fold details."""
    c = C if c is None else c
    predicted: list[list[str]] = [[] for _ in range(len(evaluation))]
    fold_info = []
    for k, (train_i, test_i, keep) in enumerate(fold_plan(evaluation, extra, folds)):
        model = train(concat(evaluation.take(train_i), extra.take(keep)), base, c)
        labels = select_labels(model.probabilities(evaluation.take(test_i)), model.thresholds, ids, MAX_LABELS)
        for i, row in zip(test_i, labels):
            predicted[i] = row
        fold_info.append({"fold": k, "test_documents": len(set(evaluation.groups[test_i])),
                          "test_passages": len(test_i),
                          "thresholds": {pid: float(t) for pid, t in zip(ids, model.thresholds)}})
    return predicted, fold_info


def to_weights(model: Model, tagger, data: Encoded, **info) -> TaggerWeights:
    """Wrap a trained model with what it was trained on, for tag_model.save_weights."""
    from index.multilingual import encoder_id

    counts = {s: sum(1 for p in data.passages if p.source == s) for s in sorted({p.source for p in data.passages})}
    training = {"C": C, "taxonomy_weight": TAXONOMY_WEIGHT, "centroids": CENTROIDS, "own_features": OWN_FEATURES,
                "baseline_feature": BASELINE_FEATURE, "max_labels": MAX_LABELS, "inner_folds": INNER_FOLDS,
                "examples": counts, "documents": len({p.group for p in data.passages if p.source != "taxonomy"}),
                "threshold_rule": "best F1 on out-of-fold probabilities, GroupKFold by document", **info}
    return TaggerWeights(tagger.taxonomy.id, tagger.ids, tagger.embedder.model_name, encoder_id(), model.prototypes,
                         model.coef, model.intercept, model.thresholds, MAX_LABELS, training)

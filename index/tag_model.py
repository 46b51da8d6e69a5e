"""Trained priority tagger: one logistic regression per priority, kept as versioned .npz data.

Features of a passage (`TaggerWeights.features`), per priority p, in both embedding spaces
(MiniLM and multilingual-e5):
- cosine to p's description, and the best cosine to p's seed-term list of any one language
  (the taxonomy's text, embedded once at training and stored in the weights file);
- cosine to the centroid of p's training positives (when trained with centroids);
- today's similarity+terms score of p (index/tagging.py `combine`, with the taxonomy's [tagging]
  parameters stored in the weights), when trained with it;
and log(1 + n) of the distinct seed terms of every priority found in the passage
(index/tagging.py `term_counts`). Each priority's probability is sigmoid(coef . x + intercept),
standardisation folded into coef; a chunk carries the priority when the probability reaches the
priority's threshold, chosen by cross-validation inside the training data (index/tag_training.py).

The weights file sits beside its taxonomy (`<taxonomy>.tagger.npz`); without one, index/tagging.py
falls back to the similarity+terms method. Arrays and a JSON metadata string, loaded with
allow_pickle=False: nothing is unpickled.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.errors import ThbError

FORMAT = "thb-tagger/1"
SUFFIX = ".tagger.npz"
_ARRAYS = ("coef", "intercept", "thresholds", "proto_minilm", "proto_ml", "proto_owner", "proto_kind",
           "cent_minilm", "cent_ml", "baseline")


class TaggerWeightsError(ThbError):
    """A tagger weights file is unreadable, of another format, or does not fit its taxonomy."""


def weights_path(taxonomy_path: Path | str) -> Path:
    """Where the trained weights of a taxonomy file live: beside it, `<stem>.tagger.npz`."""
    path = Path(taxonomy_path)
    return path.with_name(path.stem + SUFFIX)


def labels_path(taxonomy_path: Path | str) -> Path:
    """The project's own labelled passages for a taxonomy: beside it, `<stem>.labels.jsonl`."""
    path = Path(taxonomy_path)
    return path.with_name(path.stem + ".labels.jsonl")


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


@dataclass(frozen=True, slots=True)
class Prototypes:
    """The taxonomy's text in both spaces: row i belongs to priority owner[i]; kind 0 is the
    description, kind 1 a seed-term list of one language. Centroids: (priorities x dim) or empty."""

    minilm: np.ndarray
    ml: np.ndarray
    owner: np.ndarray
    kind: np.ndarray
    cent_minilm: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    cent_ml: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    # Today's similarity+terms score as one more feature block: (dense_weight, floor, ceiling,
    # term_saturation) from the taxonomy's [tagging] table, or empty for none.
    baseline: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    @property
    def n_priorities(self) -> int:
        return int(self.owner.max()) + 1 if len(self.owner) else 0

    def with_centroids(self, minilm: np.ndarray, ml: np.ndarray) -> "Prototypes":
        return Prototypes(self.minilm, self.ml, self.owner, self.kind, minilm, ml, self.baseline)

    def features(self, minilm: np.ndarray, ml: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """(n x features) matrix; see the module docstring for the layout."""
        n_p = self.n_priorities
        parts = []
        if len(self.baseline):
            weight, floor, ceiling, saturation = (float(v) for v in self.baseline)
            desc = np.asarray(minilm, dtype=np.float32) @ self.minilm[self.kind == 0].T
            dense = np.clip((desc - floor) / max(1e-6, ceiling - floor), 0.0, 1.0)
            lexical = np.minimum(1.0, np.asarray(counts, dtype=np.float32) / max(1.0, saturation))
            parts.append(weight * dense + (1.0 - weight) * lexical)
        for vecs, protos in ((minilm, self.minilm), (ml, self.ml)):
            sim = np.asarray(vecs, dtype=np.float32) @ protos.T
            parts.append(np.stack([sim[:, (self.owner == j) & (self.kind == 0)].max(axis=1)
                                   for j in range(n_p)], axis=1))
            parts.append(np.stack([sim[:, (self.owner == j) & (self.kind == 1)].max(axis=1)
                                   for j in range(n_p)], axis=1))
        parts.append(np.log1p(np.asarray(counts, dtype=np.float32)))
        if len(self.cent_minilm):
            parts.append(np.asarray(minilm, dtype=np.float32) @ self.cent_minilm.T)
            parts.append(np.asarray(ml, dtype=np.float32) @ self.cent_ml.T)
        return np.hstack(parts).astype(np.float32)


@dataclass(frozen=True, slots=True)
class TaggerWeights:
    """One taxonomy's trained tagger: per priority a linear model on `features` and a threshold."""

    taxonomy_id: str
    priority_ids: tuple[str, ...]
    minilm_model: str
    multilingual_encoder: str
    prototypes: Prototypes
    coef: np.ndarray          # (priorities x features), on raw (unscaled) features
    intercept: np.ndarray     # (priorities,)
    thresholds: np.ndarray    # (priorities,) probability needed to carry the priority
    max_labels: int = 3
    training: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        """Content-derived: the taxonomy id and a hash of the numbers, so a retrain shows."""
        digest = hashlib.sha256()
        for part in (self.coef, self.intercept, self.thresholds, self.prototypes.cent_ml):
            digest.update(np.round(np.asarray(part, dtype=np.float64), 5).tobytes())
        return f"{self.taxonomy_id}/lr-{digest.hexdigest()[:12]}"

    def features(self, minilm: np.ndarray, ml: np.ndarray, counts: np.ndarray) -> np.ndarray:
        return self.prototypes.features(minilm, ml, counts)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """(n x priorities) probabilities for a feature matrix from `features`."""
        if x.shape[1] != self.coef.shape[1]:
            raise TaggerWeightsError(f"tagger {self.version} expects {self.coef.shape[1]} features, "
                                     f"got {x.shape[1]}: retrain with `thb tag --train`")
        return sigmoid(x @ self.coef.T + self.intercept)

    def meta(self) -> dict:
        return {"format": FORMAT, "version": self.version, "taxonomy": self.taxonomy_id,
                "priorities": list(self.priority_ids), "minilm": self.minilm_model,
                "multilingual": self.multilingual_encoder, "max_labels": self.max_labels,
                "thresholds": {p: round(float(t), 4) for p, t in zip(self.priority_ids, self.thresholds)},
                "training": self.training}


def save_weights(weights: TaggerWeights, path: Path) -> None:
    """Write atomically (temp file, then rename); arrays plus one JSON metadata string."""
    p = weights.prototypes
    arrays = {"coef": weights.coef, "intercept": weights.intercept, "thresholds": weights.thresholds,
              "proto_minilm": p.minilm, "proto_ml": p.ml, "proto_owner": p.owner, "proto_kind": p.kind,
              "cent_minilm": p.cent_minilm, "cent_ml": p.cent_ml, "baseline": p.baseline}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, meta=np.array(json.dumps(weights.meta(), ensure_ascii=False)),
                        **{k: np.asarray(v) for k, v in arrays.items()})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)


def load_weights(path: Path) -> TaggerWeights | None:
    """The weights in `path`, or None when there is no such file."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in _ARRAYS}
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise TaggerWeightsError(f"{path}: unreadable tagger weights ({exc}); retrain with "
                                 f"`thb tag --train`") from None
    if meta.get("format") != FORMAT:
        raise TaggerWeightsError(f"{path}: not a {FORMAT} file; retrain with `thb tag --train`")
    ids = tuple(meta["priorities"])
    protos = Prototypes(arrays["proto_minilm"], arrays["proto_ml"], arrays["proto_owner"], arrays["proto_kind"],
                        arrays["cent_minilm"], arrays["cent_ml"], arrays["baseline"])
    weights = TaggerWeights(meta["taxonomy"], ids, meta["minilm"], meta["multilingual"], protos,
                            arrays["coef"], arrays["intercept"], arrays["thresholds"],
                            int(meta.get("max_labels", 3)), meta.get("training", {}))
    if weights.coef.shape[0] != len(ids) or len(weights.thresholds) != len(ids):
        raise TaggerWeightsError(f"{path}: coef and thresholds do not match {len(ids)} priorities")
    if meta.get("version") != weights.version:
        raise TaggerWeightsError(f"{path}: numbers do not match the recorded version {meta.get('version')}")
    return weights

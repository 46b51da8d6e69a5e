"""The learned ranker: named features of each first-stage candidate and one logistic regression.

`THB_RANKER=learned` rescores the best `RankParams.rerank_depth` candidates of the fused first
stage with `LearnedRanker.score`: a logistic regression over the features of `FEATURES`, trained by
`thb train-ranker` on labelled queries (a candidate is relevant when it covers an evidence passage,
search/evaluation.py) and saved as data in `search/ranker_weights/` with its version, training date
and cross-validated figures. The probability it gives is the hit's confidence.

Every feature is cheap: scores retrieval already has, the chunk's stored role, labels and sentence
spans, and term sets of the query (no model call beyond the two query encodings).
"""
from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.terms import analyze, identifier_terms, sentence_tokens, stem_tokens
from ingest.roles import ROLES
from search.prepare import Prepared, highlight_terms

WEIGHTS_DIR = Path(__file__).with_name("ranker_weights")
DEFAULT_WEIGHTS = WEIGHTS_DIR / "ranker-v1.json"
BASE_FEATURES = ("first_stage", "lexical", "minilm", "multilingual", "country", "section_id", "doc_prior",
                 "title", "sentence", "native_lexical", "native_multilingual")
DOC_TYPES = ("international_instrument", "national_legislation", "eu_legislation", "report", "taskforce_publication")
FEATURES = BASE_FEATURES + tuple(f"role_{r}" for r in ROLES) + tuple(f"type_{t}" for t in DOC_TYPES)


def _min_max(values: np.ndarray) -> np.ndarray:
    if not len(values):
        return values
    lo, hi = float(values.min()), float(values.max())
    return (values - lo) / (hi - lo) if hi > lo else np.ones_like(values)


def _raw(side: Mapping[int, float], ids: list[int]) -> np.ndarray:
    """Each id's raw score on a side; an id the side did not return gets the side's lowest."""
    floor = min(side.values(), default=0.0)
    return np.array([side.get(k, floor) for k in ids], dtype=np.float64)


def features(ids: list[int], scores: Mapping[int, float], candidates, rows: Mapping, prep: Prepared,
             doc_of: Mapping[int, str]) -> np.ndarray:
    """The feature matrix (len(ids) x len(FEATURES)) of the candidates `ids`, in `FEATURES` order.
    `scores`: their first- and second-stage scores; `candidates`: search/retrieval.Candidates;
    `rows`: their stored chunks (StoredChunk, whole provisions where shown so)."""
    x = np.zeros((len(ids), len(FEATURES)), dtype=np.float64)
    first = _min_max(np.array([scores[k] for k in ids], dtype=np.float64))
    x[:, 0] = first
    x[:, 1] = _min_max(np.array([candidates.lexical.get(k, 0.0) for k in ids], dtype=np.float64))
    x[:, 2] = _raw(candidates.minilm, ids)
    x[:, 3] = _raw(candidates.multilingual, ids) if candidates.multilingual else 0.0
    boosted = candidates.boosted
    best_of_doc: dict[str, list[float]] = {}
    for k, v in sorted(zip(ids, first), key=lambda kv: -kv[1]):
        top = best_of_doc.setdefault(doc_of.get(k, ""), [])
        if len(top) < 3:
            top.append(float(v))
    if prep.intent.language != "en":  # a question not in English: its lexical and e5 sides weigh otherwise
        x[:, 9], x[:, 10] = x[:, 1], x[:, 3]
    type_at = {t: len(BASE_FEATURES) + len(ROLES) + i for i, t in enumerate(DOC_TYPES)}
    wanted_ids = set(prep.identifiers)
    terms_by_language: dict[str, set[str]] = {}
    role_at = {r: len(BASE_FEATURES) + i for i, r in enumerate(ROLES)}
    for i, k in enumerate(ids):
        row = rows.get(k)
        x[i, 4] = 1.0 if k in boosted else 0.0
        x[i, 6] = sum(best_of_doc.get(doc_of.get(k, ""), [0.0])) / 3
        if row is None:
            continue
        language = row.language or "en"
        if language not in terms_by_language:
            terms_by_language[language] = highlight_terms(prep.query, prep.expansion, language)
        wanted = terms_by_language[language]
        if wanted_ids and row.section:
            x[i, 5] = len(wanted_ids & set(identifier_terms(row.section, language))) / len(wanted_ids)
        x[i, 7] = _share(wanted, _title_terms(row.title, language))
        x[i, 8] = _best_sentence(wanted, row.text, row.sentences, language)
        if row.role in role_at:
            x[i, role_at[row.role]] = 1.0
        if row.doc_type in type_at:
            x[i, type_at[row.doc_type]] = 1.0
    return x


def _share(wanted: set[str], terms) -> float:
    return len(wanted & set(terms)) / len(wanted) if wanted else 0.0


@functools.lru_cache(maxsize=4096)
def _title_terms(title: str, language: str) -> frozenset[str]:
    return frozenset(analyze(title, language, identifiers=False))


def _best_sentence(wanted: set[str], text: str, spans, language: str) -> float:
    """The best share of the query's terms that one stored sentence holds (the whole text when the
    chunk has no stored spans): the sentences' words stemmed in one call (no compound parts, no
    identifier terms: analysing each sentence in full cost 23 ms a query)."""
    if not wanted:
        return 0.0
    # A stem is (nearly always) a prefix of its word: only words that begin like a wanted term are
    # stemmed, a tenth of them.
    heads = tuple({w[:4] for w in wanted})
    tokens = [[t for t in sentence_tokens(text[s:e]) if t.startswith(heads)] for s, e in (spans or ((0, len(text)),))]
    stems = stem_tokens([t for sentence in tokens for t in sentence], language)
    best, at = 0.0, 0
    for sentence in tokens:
        best = max(best, _share(wanted, stems[at:at + len(sentence)]))
        at += len(sentence)
    return best


@dataclass(frozen=True, slots=True)
class LearnedRanker:
    """A fitted logistic regression over standardised features, read from and written to JSON."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    meta: dict

    def logits(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(x)))

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, *, c: float = 1.0, meta: dict | None = None) -> "LearnedRanker":
        from sklearn.linear_model import LogisticRegression

        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y)
        return cls(FEATURES, mean, scale, model.coef_[0].astype(np.float64), float(model.intercept_[0]), meta or {})

    def to_json(self) -> dict:
        return {**self.meta, "features": list(self.names), "mean": self.mean.round(6).tolist(),
                "scale": self.scale.round(6).tolist(), "coefficients": self.coef.round(6).tolist(),
                "intercept": round(self.intercept, 6)}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path = DEFAULT_WEIGHTS) -> "LearnedRanker":
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path}: trained on features {data['features']}, this version computes {list(FEATURES)}; "
                             "run `thb train-ranker` again")
        meta = {k: v for k, v in data.items() if k not in ("features", "mean", "scale", "coefficients", "intercept")}
        return cls(FEATURES, np.array(data["mean"]), np.array(data["scale"]), np.array(data["coefficients"]),
                   float(data["intercept"]), meta)


def sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))

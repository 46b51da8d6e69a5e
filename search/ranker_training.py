"""Training and measuring the learned ranker (search/ranker.py) on labelled queries.

The searcher runs each query once with the hand-set fusion and hands over the features of its
first-stage candidates. A candidate is relevant when it covers an evidence passage of the query
(same document, >= 60% of the passage: search/evaluation.py, the rule of the dev set's score.py).
Five folds over queries (sklearn GroupKFold, grouped by qid): each fold's model ranks the queries
it never saw, and the whole search (provisions, per-document limits) runs again on them, so the
cross-validated figures are those a user would get. In-sample figures come from the model fitted
on all queries, which is the one saved.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import numpy as np

from search.evaluation import EvalQuery, covers, evaluate, judge, normalise, same_doc
from search.ranker import LearnedRanker

log = logging.getLogger(__name__)

VERSION = "ranker-v1"
FOLDS = 5
# The notice threshold sits this far under the lowest held-out best-hit confidence of the dev
# queries that have grade-2 evidence in their top 3, so none of them gets the notice.
NOTICE_MARGIN = 0.9


@dataclasses.dataclass(frozen=True, slots=True)
class Training:
    """What `train` measured: the figures per kind of each configuration, and the fitted model."""

    model: LearnedRanker
    table: dict  # {"fusion": evaluate(...), "learned (5-fold CV)": ..., "learned (in-sample)": ...}
    positives: int
    candidates: int
    cv_probabilities: tuple[np.ndarray, np.ndarray]  # (held-out probability, label) of every candidate


def labels(query: EvalQuery, rows: list) -> np.ndarray:
    """1 for each candidate row that covers one of the query's evidence passages, else 0."""
    evidence = [(r["path"], normalise(r["evidence"])) for r in query.relevant]
    out = np.zeros(len(rows), dtype=np.int64)
    for i, row in enumerate(rows):
        mine = [ev for path, ev in evidence if same_doc(row.doc_path, path)]
        if mine:
            text = normalise(row.text)
            out[i] = int(any(covers(ev, text) for ev in mine))
    return out


def strong_confidences(queries: list[EvalQuery], run: dict[str, list[dict]]) -> list[float]:
    """The best hit's confidence of each query with grade-2 evidence in its top 3."""
    out = []
    for q in queries:
        hits = run.get(q.qid, [])
        matched = [int(d.split(":ev")[1]) for d, _s in judge(q, hits, k=3) if d.startswith(f"{q.qid}:ev")]
        if any(q.relevant[i].get("grade", 1) >= 2 for i in matched):
            out.append(max((h.get("confidence") or 0.0) for h in hits))
    return out


def _run(searcher, queries: list[EvalQuery], top_k: int) -> dict[str, list[dict]]:
    searcher.cache.clear()
    results = searcher.search_batch([q.query for q in queries], top_k=top_k)
    return {q.qid: [h.to_json() for h in r.hits] for q, r in zip(queries, results)}


def train(searcher, queries: list[EvalQuery], *, top_k: int = 10, c: float = 1.0, folds: int = FOLDS) -> Training:
    """Capture features with the fusion ranking, fit and cross-validate the learned ranker."""
    from sklearn.model_selection import GroupKFold

    fusion_settings = dataclasses.replace(searcher.settings, ranker="fusion")
    learned_settings = dataclasses.replace(searcher.settings, ranker="learned")
    searcher.settings, searcher.capture = fusion_settings, []
    fusion_run = _run(searcher, queries, top_k)
    captured, searcher.capture = searcher.capture, None
    if len(captured) != len(queries):
        raise RuntimeError(f"captured {len(captured)} of {len(queries)} queries (empty queries?)")
    xs = [x for _q, _ids, x, _rows in captured]
    ys = [labels(q, [rows[k] for k in ids]) for q, (_q, ids, _x, rows) in zip(queries, captured)]
    meta = {"version": VERSION, "trained_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "model": "logistic regression (scikit-learn), standardised features", "C": c,
            "queries": len(queries)}
    searcher.settings = learned_settings
    cv_run: dict[str, list[dict]] = {}
    held_p, held_y = [], []
    qids = [q.qid for q in queries]
    for train_idx, test_idx in GroupKFold(n_splits=folds).split(np.zeros(len(queries)), groups=qids):
        model = LearnedRanker.fit(np.vstack([xs[i] for i in train_idx]), np.concatenate([ys[i] for i in train_idx]), c=c)
        searcher.learned = model
        cv_run.update(_run(searcher, [queries[i] for i in test_idx], top_k))
        for i in test_idx:
            held_p.append(model.probabilities(xs[i]))
            held_y.append(ys[i])
    final = LearnedRanker.fit(np.vstack(xs), np.concatenate(ys), c=c, meta=meta)
    searcher.learned = final
    in_sample_run = _run(searcher, queries, top_k)
    searcher.settings = fusion_settings
    table = {"fusion": evaluate(queries, fusion_run, k=top_k),
             "learned (5-fold CV)": evaluate(queries, cv_run, k=top_k),
             "learned (in-sample)": evaluate(queries, in_sample_run, k=top_k)}
    figures = {name: {kind: {m: v for m, v in metrics.items() if m in ("queries", "ndcg", "recall", "mrr")}
                      for kind, metrics in per_kind.items()} for name, per_kind in table.items()}
    strong = strong_confidences(queries, cv_run)
    threshold = round(NOTICE_MARGIN * min(strong), 4) if strong else 0.0
    final = dataclasses.replace(final, meta={**meta, "evaluation": figures, "notice_threshold": threshold,
                                             "notice_rule": f"{NOTICE_MARGIN} x the lowest held-out best-hit "
                                                            f"confidence of the {len(strong)} dev queries with "
                                                            "grade-2 evidence in the top 3",
                                             "positives": int(sum(y.sum() for y in ys)),
                                             "candidates": int(sum(len(y) for y in ys))})
    return Training(final, table, int(sum(y.sum() for y in ys)), int(sum(len(y) for y in ys)),
                    (np.concatenate(held_p), np.concatenate(held_y)))

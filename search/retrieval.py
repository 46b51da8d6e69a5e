"""Retrieval: the candidates of a prepared query and their raw scores.

BM25 (from postings held in memory, or FTS5) and the dense sides (MiniLM, multilingual-e5) over one
loaded index, within the filters. Nothing here ranks: `search/ranking.py` combines the scores.
"""
from __future__ import annotations

import threading
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index import store, vectors
from search import fusion, lexical, maxscore


@dataclass(frozen=True, slots=True)
class Candidates:
    """What retrieval found for one query: raw scores by vec_id, and the chunks of the countries it names."""

    lexical: dict[int, float]
    dense: dict[int, float]
    boosted: frozenset[int]
    # The raw cosines of each dense space apart (the learned ranker's features, search/ranker.py).
    minilm: dict[int, float] = field(default_factory=dict)
    multilingual: dict[int, float] = field(default_factory=dict)


class Retriever:
    """Candidate search over one opened index (a store connection, its FAISS indexes, its postings)."""

    def __init__(self, conn, db_path: Path, index, ml_index, postings: "lexical.LexicalIndex | None",
                 pool: Executor):
        self.conn, self.db_path, self.index, self.ml_index, self.postings = conn, db_path, index, ml_index, postings
        self.pool = pool
        self._local = threading.local()
        self._arrays: dict[frozenset, np.ndarray] = {}  # a country's ids, as FAISS filters read them

    def start_lexical(self, groups) -> tuple:
        """Submit the (weight, phrases) searches to the pool: (weight, future) pairs. They run on
        worker threads (their own read connections; SQLite lets go of the GIL) while the caller
        encodes the query and searches FAISS. With the postings in memory: one maxscore.Pending
        (the query's phrases matched and their idfs known on a worker thread, search/maxscore.py)."""
        if self.postings is not None:
            groups = tuple((weight, lexical.phrases(list(phrases))) for weight, phrases in groups)
            return (maxscore.Pending(groups, self.pool.submit(maxscore.Plan, self.postings, groups)),)
        return tuple((weight, self.pool.submit(self._bm25, list(phrases))) for weight, phrases in groups)

    def candidates(self, pending: tuple, qvec, ml_vec, *, n: int, allowed: set[int] | None, boosted: set[int],
                   mode: str, multilingual_weight: float) -> Candidates:
        """The top `n` of each side (and of the named countries' chunks, scaled among themselves)."""
        raw: tuple[dict, dict] = ({}, {})
        dense = {} if mode == "lexical" else self.dense_side(qvec, ml_vec, n, allowed, multilingual_weight, raw)
        if boosted and mode != "lexical":  # the named country's best passages join the candidates
            dense.update(self.dense_side(qvec, ml_vec, n, boosted, multilingual_weight, raw))
        found = {}
        if mode != "dense":
            scores = self.finish_lexical(pending, allowed, keep=n, boosted=boosted)
            found = top_n(scores, n)
            if boosted:
                found.update(top_n({k: v for k, v in scores.items() if k in boosted}, n))
        return Candidates(found, dense, frozenset(boosted), *raw)

    def dense_side(self, qvec, ml_vec, n: int, allowed: set[int] | None, multilingual_weight: float,
                   raw: tuple[dict, dict] | None = None) -> dict[int, float]:
        """The dense candidates among `allowed`: MiniLM cosines, or with the multilingual space in use
        multilingual_weight x min-max(e5) + the rest x min-max(MiniLM) over the union of both top-n.
        Called apart for a named country's chunks, whose scores are then scaled among themselves:
        measured on dev, cross-lingual .616 with one scaling over all candidates, .691 with this."""
        allowed_arr = self.id_array(allowed)  # once for both spaces
        dense = self.dense(qvec, n, allowed, allowed_arr=allowed_arr)
        if raw is not None:
            raw[0].update(dense)
        if ml_vec is None:
            return dense
        ml = self.dense(ml_vec, n, allowed, self.ml_index, allowed_arr=allowed_arr)
        if raw is not None:
            raw[1].update(ml)
        return fusion.convex(ml, dense, lexical_weight=multilingual_weight)

    def dense(self, qvec, n: int, allowed: set[int] | None, index=None, *,
              allowed_arr: np.ndarray | None = None) -> dict[int, float]:
        """`allowed_arr`: `allowed` as an array, when the caller has made it."""
        if allowed_arr is None:
            allowed_arr = self.id_array(allowed)
        scores, ids = vectors.search(self.index if index is None else index, qvec, n, allowed_arr)
        return {int(i): float(s) for s, i in zip(scores, ids)}

    def id_array(self, ids) -> np.ndarray | None:
        """`ids` as an int64 array; a frozenset's (a country's chunks, the same object query after
        query) made once per loaded index: at a million chunks a country's 400,000 ids took 10 ms."""
        if ids is None:
            return None
        if not isinstance(ids, frozenset):
            return np.fromiter(ids, dtype=np.int64, count=len(ids))
        arr = self._arrays.get(ids)
        if arr is None:
            if len(self._arrays) >= 64:
                self._arrays.clear()
            arr = self._arrays[ids] = np.fromiter(ids, dtype=np.int64, count=len(ids))
        return arr

    def finish_lexical(self, pending: tuple, allowed: set[int] | None, *, keep: int | None = None,
                       boosted=None) -> dict[int, float]:
        """{vec_id: weighted bm25} of the matching chunks (of `allowed`, if given). From in-memory
        postings and with `keep`, only what the caller can use (`lexical_top`: the same top lists
        as from all scores, without a dict per match, which at 100,000 chunks cost most of a query)."""
        if len(pending) == 1 and isinstance(pending[0], maxscore.Pending):
            plan = pending[0].future.result()
            if keep and plan.prunable:  # lexical_top's dict, without scoring every posting
                return maxscore.top(plan, keep, self.id_array(allowed), self.id_array(boosted) if boosted else None)
            results = plan.full_rows()  # bm25_rows of each group, from the plan's matches
        else:
            results = [(weight, future.result()) for weight, future in pending]
        if keep and results and all(isinstance(r, tuple) for _w, r in results):
            return lexical_top(self.postings, results, keep, boosted, allowed)
        scores: dict[int, float] = {}
        for weight, result in results:
            if isinstance(result, tuple):  # (scores, hit) rows of the in-memory postings
                found = np.flatnonzero(result[1])
                result = dict(zip(self.postings.rowids[found].tolist(), result[0][found].tolist()))
            for k, v in result.items():
                scores[k] = scores.get(k, 0.0) + weight * v
        if allowed is not None:
            scores = {k: v for k, v in scores.items() if k in allowed}
        return scores

    def _bm25(self, phrases: list[str]):
        """{vec_id: bm25} of the chunks holding any of the phrases, from FTS5; from the in-memory
        postings when the index has them (search/lexical.py, same scores) as (scores, hit) rows."""
        if self.postings is not None:
            return self.postings.bm25_rows(lexical.phrases(phrases))
        return store.fts_bm25(self._thread_conn(), phrases)

    def _thread_conn(self):
        """This thread's read connection to the store (sqlite3 connections are not shared across
        threads that query at once)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = store.connect(self.db_path, readonly=True)
        return conn


def lexical_top(index: "lexical.LexicalIndex", results: list, keep: int, boosted=None, allowed=None) -> dict[int, float]:
    """{vec_id: sum of weight x bm25} over (weight, (scores, hit)) rows, among `allowed` ids if
    given: every chunk tying or beating the keep-th best, and every `boosted` one tying or beating
    the keep-th best of the boosted; `top_n` of it, and of its boosted part, equal those of all
    scores. In numpy: at a million chunks a dict of every match cost hundreds of ms."""
    total = np.zeros(index.n, dtype=np.float64)
    hit = np.zeros(index.n, dtype=bool)
    for weight, (scores, matched) in results:  # same order of additions as the dict path
        total += weight * scores
        hit |= matched
    if allowed is not None:
        hit &= _row_mask(index, allowed)
    rows = np.flatnonzero(hit)
    if len(rows) > keep:
        values = total[rows]
        wanted = values >= _kth_best(values, keep)
        if boosted:
            mine = _row_mask(index, boosted)[rows]
            if mine.sum() > keep:
                mine &= values >= _kth_best(values[mine], keep)
            wanted |= mine
        rows = rows[wanted]
    return dict(zip(index.rowids[rows].tolist(), total[rows].tolist()))


def _kth_best(values: np.ndarray, k: int) -> float:
    return -np.partition(-values, k - 1)[k - 1]


def _row_mask(index: "lexical.LexicalIndex", ids) -> np.ndarray:
    """Rows of the postings whose rowid is in `ids` (rowids are ascending)."""
    wanted = np.fromiter(ids, dtype=np.int64, count=len(ids))
    mask = np.zeros(index.n, dtype=bool)
    if len(wanted) and index.n:
        at = np.searchsorted(index.rowids, wanted).clip(0, index.n - 1)
        mask[at[index.rowids[at] == wanted]] = True
    return mask


def top_n(scores: dict[int, float], n: int) -> dict[int, float]:
    """The n best entries, best first, ties broken by id (numpy: the lexical lists run to thousands)."""
    if n <= 0 or not scores:
        return {}
    keys = np.fromiter(scores.keys(), dtype=np.int64, count=len(scores))
    values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    if n < len(values):  # keep everything that ties with the n-th best, then sort exactly
        threshold = -np.partition(-values, n - 1)[n - 1]
        keep = values >= threshold
        keys, values = keys[keep], values[keep]
    order = np.lexsort((keys, -values))[:n]
    return dict(zip(keys[order].tolist(), values[order].tolist()))

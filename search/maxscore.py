"""The lexical candidates of a query at scale: the exact top-k of BM25 without scoring every posting.

`Retriever.finish_lexical` keeps, of the weighted BM25 sums, every row tying or beating the keep-th
best (and the same among the boosted rows). Scoring every row, as `LexicalIndex.bm25_rows` does,
costs a full array per group and every posting of every term: at a million chunks "the" alone has
two million postings, and that was most of a query's time. Here (MaxScore, Turtle & Flood 1995):

- A phrase's bm25 in a row is below idf x (k1 + 1), so with the weights (all > 0) each phrase has
  an upper bound, known from its document frequency alone (stored with the postings).
- Phrases are matched (their rows and scores, "materialised") rarest first, until the bounds of the
  phrases not yet matched sum to less than a threshold the keep-th best row is known to reach (the
  keep-th best score of the best rows found so far): a row that holds none of the matched phrases
  cannot reach it. Multi-term phrases are always matched (their idf needs their matches); one term
  costs nothing until matched.
- The rows found get the other phrases' scores by binary search of those terms' rows, dropping on
  the way every row whose score so far plus the bounds still to come cannot reach the threshold.
- The survivors are scored exactly as `bm25_rows` and `lexical_top` score them, in the same order of
  float additions (within a group its phrases in order from 0.0, then each group's weight x its
  score): the same keys and the same bits. tests/search/test_maxscore.py checks it on real postings.
- Below PRUNE_POSTINGS (a small index) the plan scores every row instead, from the same matches.

Bounds and thresholds are compared with a relative SLACK far above any rounding of either, so
rounding never prunes a row that could tie.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from search import lexical

SLACK = 1e-9        # relative margin of every bound-against-threshold comparison
DIRECT_ROWS = 4096  # a universe (allowed rows) this small is scored row by row, nothing materialised
PRUNE_POSTINGS = 1_500_000  # below this many postings and rows to touch, a query scores every row
DENSE_FROM = 16     # rows x this above a phrase's matches (or term's rows): read them laid out
SCORED = 2          # rows fully scored for a threshold: this many times `keep`, the best partial scores


class _Phrase:
    """One distinct phrase of a query: its document frequency, idf and, once matched, its rows
    (ascending) and bm25 in each."""

    __slots__ = ("phrase", "df", "idf", "rows", "values")

    def __init__(self, index: lexical.LexicalIndex, phrase: lexical.Phrase):
        self.phrase = phrase
        self.rows = self.values = None
        if len(phrase.terms) == 1:
            self.df = index.df(phrase.terms[0])
        else:  # a phrase's document frequency is known only from its matches
            self.rows, self.values = index.scored(phrase)
            self.df = len(self.rows)
        self.idf = index.idf(self.df) if self.df else 0.0

    @property
    def matched(self) -> bool:
        return self.values is not None

    def match(self, index: lexical.LexicalIndex) -> None:
        if self.values is None:
            self.rows, self.values = index.scored(self.phrase)

    def at(self, index: lexical.LexicalIndex, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bm25, whether it matches) in each of `rows` (ascending): 0.0 where it does not match.
        Many rows: the phrase's scores laid out over all rows and read there (bm25 is > 0 where it
        matches); few: a binary search of its rows (or its term's postings, when not matched)."""
        if self.values is None and len(rows) * DENSE_FROM > self.df:
            self.match(index)
        if self.values is not None and len(rows) * DENSE_FROM > len(self.rows):
            _partial, spread, _held = _scratch(index.n)
            spread[self.rows] = self.values
            values = spread[rows]
            spread[self.rows] = 0.0
            return values, values > 0
        values = np.zeros(len(rows), dtype=np.float64)
        if self.values is not None:
            at = np.minimum(np.searchsorted(self.rows, rows), max(len(self.rows) - 1, 0))
            hit = self.rows[at] == rows if len(self.rows) else np.zeros(len(rows), dtype=bool)
            values[hit] = self.values[at[hit]]
        else:
            counts = index.counts_at(self.phrase.terms[0], rows)
            hit = counts > 0
            values[hit] = index.contribution(self.idf, rows[hit], counts[hit])
        return values, hit


class Plan:
    """A query's (weight, phrases) groups over one index, its phrases' idfs known and its
    multi-term phrases matched (the part that needs no filter: it runs on a worker thread)."""

    def __init__(self, index: lexical.LexicalIndex, groups):
        self.index = index
        distinct: dict[tuple[str, ...], _Phrase] = {}
        self.groups = []
        for weight, phrases in groups:
            members = []
            for p in phrases:
                if p.terms not in distinct:
                    distinct[p.terms] = _Phrase(index, p)
                members.append(distinct[p.terms])
            self.groups.append((weight, members))
        # Bounds hold for weights > 0 (the query's groups weigh 0.5, 1 and 3). Pruning pays for its
        # per-phrase work when scoring every row would touch PRUNE_POSTINGS postings and rows (each
        # group's scores span all rows); measured on the grown homes' dev queries: at 100,000 chunks
        # with 0.2-1.2M postings a query scoring all rows costs the same or less, at 1M never.
        spans = [index.terms.get(t, (0, 0)) for p in distinct.values() for t in p.phrase.terms]
        postings = sum(end - start for start, end in spans) + index.n * len(self.groups)
        self.positive = all(isinstance(w, (int, float)) and math.isfinite(w) and w > 0 for w, _ in self.groups)
        self.prunable = self.positive and postings >= PRUNE_POSTINGS
        self.weight: dict[int, float] = {}  # id(phrase) -> its summed weight over the groups
        for weight, members in self.groups:
            for p in members:
                if p.df:
                    self.weight[id(p)] = self.weight.get(id(p), 0.0) + weight
        self.phrases = [p for p in distinct.values() if id(p) in self.weight]
        self.bound = {id(p): self.weight[id(p)] * p.idf * (lexical.K1 + 1) for p in self.phrases}

    def full_rows(self) -> list:
        """[(weight, (score per row, whether the row matched))]: `bm25_rows` of each group over all
        rows, from the phrases' matches (the reference, and cheaper where pruning does not pay)."""
        out = []
        for weight, members in self.groups:
            scores = np.zeros(self.index.n, dtype=np.float64)
            hit = np.zeros(self.index.n, dtype=bool)
            for p in members:
                if p.df:
                    p.match(self.index)
                    scores[p.rows] += p.values
                    hit[p.rows] = True
            out.append((weight, (scores, hit)))
        return out

    def scores(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(weighted bm25, whether any phrase matches) of `rows`, added as `lexical_top` adds them."""
        total = np.zeros(len(rows), dtype=np.float64)
        hit = np.zeros(len(rows), dtype=bool)
        for weight, members in self.groups:
            group = np.zeros(len(rows), dtype=np.float64)
            for p in members:
                if p.df:
                    values, matched = p.at(self.index, rows)
                    group += values  # + 0.0 where it does not match: the same bits as not adding
                    hit |= matched
            total += weight * group
        return total, hit

    def top(self, keep: int, universe: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(rows ascending, scores) of the rows of `universe` (a row mask; None: all) that match and
        tie or beat the keep-th best of them (all that match if no more than `keep` do)."""
        if not self.phrases:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        if not self.positive or (universe is not None and np.count_nonzero(universe) <= DIRECT_ROWS):
            # a small universe is scored row by row; without bounds (a weight <= 0), every row is
            rows = (np.arange(self.index.n) if universe is None else np.flatnonzero(universe)).astype(np.int32)
            partial, theta = np.zeros(len(rows)), -math.inf
            rest = sorted(self.phrases, key=lambda p: -self.bound[id(p)]) if self.positive else []
        else:
            rows, partial, theta, rest = self._candidates(keep, universe)
        rows, partial = self._refine(rows, partial, theta, rest, keep)
        total, hit = self.scores(rows)
        rows, total = rows[hit], total[hit]
        if len(rows) > keep:
            wanted = total >= _kth_best(total, keep)
            rows, total = rows[wanted], total[wanted]
        return rows.astype(np.int64), total

    def _candidates(self, keep: int, universe: np.ndarray | None):
        """Match phrases, the matched and then the largest bounds first, until the others' bounds
        sum below a threshold that the keep-th best row reaches: the keep-th best full score of the
        rows found whose partial scores are best (any rows' keep-th best is below the true one).
        (rows of the matched phrases, their partial scores, the threshold, the phrases left, largest
        bound first)."""
        order = sorted(self.phrases, key=lambda p: (not p.matched, -self.bound[id(p)]))
        tails = np.cumsum([self.bound[id(p)] for p in reversed(order)])[::-1].tolist() + [0.0]
        partial, _spread, held = _scratch(self.index.n)  # zeros, and zeros again when this returns
        try:
            postings, theta, done, scored_at = 0, -math.inf, 0, 0
            for done, p in enumerate(order, start=1):
                p.match(self.index)
                rows, values = p.rows, p.values
                if universe is not None:  # only the universe's rows are candidates
                    inside = universe[rows]
                    rows, values = rows[inside], values[inside]
                weight = self.weight[id(p)]
                partial[rows] += values if weight == 1 else weight * values
                held[rows] = True
                postings += len(rows)
                rest = tails[done] * (1 + SLACK)
                if rest < theta or done == len(order):
                    break
                # a better threshold (the full scores of the best rows so far): first, then when near
                if postings >= keep and (not scored_at or (postings >= 2 * scored_at and rest < 2 * theta)):
                    scored_at = postings
                    rows = np.flatnonzero(held).astype(np.int32)
                    if len(rows) >= keep:
                        best = rows if len(rows) <= SCORED * keep else \
                            np.sort(rows[np.argpartition(-partial[rows], SCORED * keep - 1)[:SCORED * keep]])
                        theta = max(theta, self._estimate(best, partial[best], order[done:], keep))
                        if rest < theta:
                            break
            rows = np.flatnonzero(held).astype(np.int32)
            return rows, partial[rows], theta, order[done:]
        finally:
            touched = np.flatnonzero(held)
            partial[touched] = 0.0
            held[touched] = False

    def _estimate(self, rows: np.ndarray, partial: np.ndarray, rest: list, keep: int) -> float:
        """A threshold the keep-th best row reaches: the keep-th best of `rows`' scores (their
        partial scores plus the phrases left), less SLACK for the order of additions."""
        for p in rest:
            partial = partial + self.weight[id(p)] * p.at(self.index, rows)[0]
        return _kth_best(partial, keep) * (1 - SLACK)

    def _refine(self, rows: np.ndarray, partial: np.ndarray, theta: float, rest: list, keep: int):
        """The other phrases' scores added to the rows that can still reach the threshold; rows that
        cannot are dropped as soon as the bounds still to come say so."""
        tails = np.cumsum([self.bound[id(p)] for p in reversed(rest)])[::-1].tolist() + [0.0]
        for i, p in enumerate(rest):
            alive = (partial + tails[i]) * (1 + SLACK) >= theta
            rows, partial = rows[alive], partial[alive]
            values, _hit = p.at(self.index, rows)
            partial = partial + self.weight[id(p)] * values
            if len(rows) > keep:
                theta = max(theta, _kth_best(partial, keep))
        alive = partial * (1 + SLACK) >= theta
        return rows[alive], partial[alive]


@dataclass(frozen=True, slots=True)
class Pending:
    """A query's lexical search under way: its groups of phrases and the future of its Plan."""

    groups: tuple
    future: object


def top(plan: Plan, keep: int, allowed=None, boosted=None) -> dict[int, float]:
    """`lexical_top`'s dict: the rows of `allowed` tying or beating the keep-th best, and the
    `boosted` ones tying or beating the keep-th best of the boosted."""
    index = plan.index
    mask = None if allowed is None else row_mask(index, allowed)
    rows, total = plan.top(keep, mask)
    if boosted is not None and len(boosted):
        mine = row_mask(index, boosted)
        more, more_total = plan.top(keep, mine if mask is None else mine & mask)
        rows, at = np.unique(np.concatenate([rows, more]), return_index=True)
        total = np.concatenate([total, more_total])[at]
    return dict(zip(index.rowids[rows].tolist(), total.tolist()))


_buffers = threading.local()


def _scratch(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This thread's two arrays of n scores and one of n flags, all zero (and zero again after each
    use): made once, not per query (a fresh array of a million rows costs its page faults at every use)."""
    arrays = getattr(_buffers, "arrays", None)
    if arrays is None or len(arrays[0]) != n:
        arrays = _buffers.arrays = (np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool))
    return arrays


def row_mask(index: lexical.LexicalIndex, ids) -> np.ndarray:
    """Rows of the postings whose rowid is in `ids` (a set, or an int64 array of them; rowids are ascending; where they run without
    gaps, as vec_ids do, a rowid less the first is its row)."""
    wanted = ids if isinstance(ids, np.ndarray) else np.fromiter(ids, dtype=np.int64, count=len(ids))
    mask = np.zeros(index.n, dtype=bool)
    if len(wanted) and index.n:
        first = int(index.rowids[0])
        if int(index.rowids[-1]) - first == index.n - 1:
            at = wanted - first
            mask[at[(at >= 0) & (at < index.n)]] = True
        else:
            at = np.searchsorted(index.rowids, wanted).clip(0, index.n - 1)
            mask[at[index.rowids[at] == wanted]] = True
    return mask


def _kth_best(values: np.ndarray, k: int) -> float:
    return -np.partition(-values, k - 1)[k - 1]

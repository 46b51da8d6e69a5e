"""BM25 over the FTS5 table's terms, held in memory: FTS5's own scores without its per-query cost.

SQLite's FTS5 `bm25()` reads every matching row's doclist and calls its ranking function once per
row: 10-40 ms for a query of 20-30 stems on the shared corpus, most of a 50 ms budget. Here the same
terms sit in numpy arrays (one posting per token: row and position), so a query costs a few array
operations per phrase, under a millisecond.

Scores are FTS5's exactly (`fts5_aux.c`, k1 = 1.2, b = 0.75): for each phrase of the query,
idf = log((N - n + 0.5) / (n + 0.5)), floored at 1e-6, times f (k1 + 1) / (f + k1 (1 - b + b |D| / avgdl)),
with n the rows holding the phrase, f its occurrences in the row, |D| the row's tokens. A phrase
matches where its terms stand at consecutive positions, as in FTS5. Tokens are folded the way the
table's tokenizer (unicode61, remove_diacritics 2) folds them: lower case, diacritics off, split at
anything that is not a letter or digit. tests/test_lexical.py checks both against FTS5 on the corpus.

The arrays cost about 8 bytes a token (100 tokens a chunk). The writer saves them beside the store
at each ingest (`index/postings.py`) and a searcher maps them; a searcher that has to build them
itself does so only up to MAX_CHUNKS chunks, and searches FTS5 beyond.
"""
from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from index import postings
from index.postings import fold

K1 = 1.2
B = 0.75
MIN_IDF = 1e-6
MAX_CHUNKS = 250_000  # about 200 MB of postings; beyond it FTS5 answers from disk
_POSITION_BITS = 20   # a row holds fewer than a million tokens (a chunk holds a few hundred)
MEMO_POSTINGS = 20_000     # a phrase whose rarest term has this many postings has its scores kept
MEMO_ROWS = 4_000_000      # rows of kept scores, at most, of terms and of phrases each (8-12 bytes a row)


@dataclass(frozen=True, slots=True)
class Phrase:
    """Terms that must stand next to each other, in order (one term: a plain term query)."""

    terms: tuple[str, ...]


class LexicalIndex:
    """Postings of every token of the FTS5 table `chunks_fts`, grouped by term."""

    def __init__(self, rowids: np.ndarray, lengths: np.ndarray, terms: dict[str, tuple[int, int]],
                 rows: np.ndarray, positions: np.ndarray, by_row: tuple | None = None,
                 tokens: np.ndarray | None = None):
        self.rowids = rowids          # row index -> FTS rowid (the chunk's vec_id)
        self.lengths = lengths        # tokens per row
        self.terms = terms            # term -> (start, end) into rows/positions
        self.rows = rows              # posting -> row index, sorted by (term, row, position)
        self.positions = positions    # posting -> token position within the row
        self.n = len(rowids)
        self.avgdl = float(lengths.sum()) / self.n if self.n else 0.0
        self._norm = K1 * (1 - B + B * lengths / self.avgdl) if self.n else lengths.astype(np.float64)
        if by_row is None:  # (df, term_rows, term_tf), as index/postings.py writes them
            ends = np.fromiter((end for _start, end in terms.values()), dtype=np.int64, count=len(terms))
            by_row = postings.by_row(np.r_[0, ends].astype(np.int64), rows)
        df, self.term_rows, self.term_tf = by_row
        offsets = np.r_[0, np.cumsum(df)].tolist()
        self.row_spans = {t: (offsets[i], offsets[i + 1]) for i, t in enumerate(terms)}  # into term_rows
        self.term_ids = {t: i for i, t in enumerate(terms)}
        self.row_starts = np.r_[0, np.cumsum(np.asarray(lengths, dtype=np.int64))]  # into tokens
        if tokens is None:  # every row's term ids in order, from the postings
            tokens = np.zeros(int(self.row_starts[-1]), dtype=np.int32)
            ids = np.zeros(len(rows), dtype=np.int32)
            for i, (start, end) in enumerate(terms.values()):
                ids[start:end] = i
            tokens[self.row_starts[rows] + positions] = ids
        self.tokens = tokens
        # kept scores, least recently used first: of terms, and of phrases (dearer: their own budget)
        self._memo: tuple[OrderedDict, OrderedDict] = (OrderedDict(), OrderedDict())
        self._memo_rows = [0, 0]
        self._memo_lock = threading.Lock()

    @classmethod
    def from_postings(cls, p: postings.Postings) -> "LexicalIndex":
        return cls(p.rowids, np.asarray(p.lengths, dtype=np.float64), p.term_spans(), p.rows, p.positions,
                   (p.df, p.term_rows, p.term_tf), p.tokens)

    @classmethod
    def load(cls, conn: sqlite3.Connection, table: str = "chunks_fts") -> "LexicalIndex":
        """Read the table's text (one pass, no per-term queries) and build the postings."""
        return cls.from_postings(postings.build(conn, table))

    def vocabulary(self) -> set[str]:
        return set(self.terms)

    def _keys(self, term: str) -> np.ndarray:
        start, end = self.terms.get(term, (0, 0))
        return (self.rows[start:end].astype(np.int64) << _POSITION_BITS) | self.positions[start:end]

    def matches(self, phrase: Phrase) -> tuple[np.ndarray, np.ndarray]:
        """(row indexes, occurrences) of a phrase: its terms at consecutive positions."""
        terms = phrase.terms
        if len(terms) == 1:
            start, end = self.terms.get(terms[0], (0, 0))
            rows = self.rows[start:end]
        else:
            keys = self._keys(terms[0])
            for offset, term in enumerate(terms[1:], start=1):
                if not len(keys):
                    break
                keys = np.intersect1d(keys, self._keys(term) - offset, assume_unique=True)
            rows = (keys >> _POSITION_BITS).astype(np.int32)
        if not len(rows):
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64)
        # postings are sorted by row within a term: occurrences are run lengths
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        counts = np.diff(np.r_[starts, len(rows)])
        return rows[starts], counts

    def df(self, term: str) -> int:
        """Rows holding the term."""
        start, end = self.row_spans.get(term, (0, 0))
        return end - start

    def idf(self, df: int):
        """FTS5's idf of a phrase held by `df` rows (floored at MIN_IDF)."""
        idf = np.log((self.n - df + 0.5) / (df + 0.5))
        return idf if idf > 0 else MIN_IDF

    def contribution(self, idf, rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """A phrase's bm25 in each of `rows`, where it occurs `counts` times."""
        return idf * counts * (K1 + 1) / (counts + self._norm[rows])

    def counts_at(self, term: str, rows: np.ndarray) -> np.ndarray:
        """Occurrences of a term in each of `rows` (ascending row indexes), by binary search of the
        rows holding it: the cost is in `rows`, not in the term's postings."""
        start, end = self.row_spans.get(term, (0, 0))
        span = self.term_rows[start:end]
        rows = np.asarray(rows, dtype=span.dtype)  # the same dtype, or numpy would convert the postings
        at = np.minimum(np.searchsorted(span, rows), max(end - start - 1, 0))
        if end == start:
            return np.zeros(len(rows), dtype=np.int64)
        return np.where(span[at] == rows, self.term_tf[start:end][at], 0)

    def scored(self, phrase: Phrase) -> tuple[np.ndarray, np.ndarray]:
        """(row indexes, bm25) of the rows matching a phrase: `bm25_rows`'s terms of that phrase.
        A phrase of several terms is found from its rarest term's postings (each of the others is
        checked only where a match could start). What cost many postings is kept for the next query
        asking, up to MEMO_ROWS rows (the postings never change)."""
        terms = phrase.terms
        spans = [self.terms.get(t, (0, 0)) for t in terms]
        cost = min(end - start for start, end in spans) if len(terms) > 1 else self.df(terms[0])
        memo, kind = self._memo[len(terms) > 1], int(len(terms) > 1)
        with self._memo_lock:
            found = memo.get(terms)
            if found is not None:
                memo.move_to_end(terms)
                return found
        if len(terms) == 1:
            start, end = self.row_spans.get(terms[0], (0, 0))
            rows, counts = self.term_rows[start:end], self.term_tf[start:end]
        else:
            rows, counts = self._phrase_matches(terms) if cost else (np.empty(0, dtype=np.int32), np.empty(0))
        found = rows, self.contribution(self.idf(len(rows)), rows, counts) if len(rows) else np.empty(0)
        if cost >= MEMO_POSTINGS and len(rows) <= MEMO_ROWS // 4:
            with self._memo_lock:
                if terms not in memo:
                    memo[terms] = found
                    self._memo_rows[kind] += len(rows)
                while self._memo_rows[kind] > MEMO_ROWS:
                    self._memo_rows[kind] -= len(memo.popitem(last=False)[1][0])
        return found

    def _phrase_matches(self, terms: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """`matches` of a phrase of several terms: from each posting of its rarest term, the tokens
        where the phrase would stand are read and compared (a phrase lies within one row)."""
        spans = [self.terms.get(t, (0, 0)) for t in terms]
        first = min(range(len(terms)), key=lambda i: spans[i][1] - spans[i][0])
        start, end = spans[first]
        rows = self.rows[start:end]
        begin = self.positions[start:end].astype(np.int64) - first  # where the phrase would start
        fits = (begin >= 0) & (begin + len(terms) <= self.lengths[rows])
        rows, at = rows[fits], self.row_starts[rows[fits]] + begin[fits]
        for i, term in enumerate(terms):
            if i != first and len(rows):
                same = self.tokens[at + i] == self.term_ids[term]
                rows, at = rows[same], at[same]
        if not len(rows):
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        return np.asarray(rows[starts], dtype=np.int32), np.diff(np.r_[starts, len(rows)])

    def bm25(self, phrases: list[Phrase]) -> dict[int, float]:
        """{rowid: score} of the rows matching any phrase (FTS5's `bm25()` negated: higher is better)."""
        if not self.n or not phrases:
            return {}
        scores, hit = self.bm25_rows(phrases)
        found = np.flatnonzero(hit)
        return dict(zip(self.rowids[found].tolist(), scores[found].tolist()))

    def bm25_rows(self, phrases: list[Phrase]) -> tuple[np.ndarray, np.ndarray]:
        """(score per row, whether the row matched) over all rows: what `bm25` returns as a dict,
        left as arrays so that a caller over 100,000s of rows can combine and cut them in numpy."""
        scores = np.zeros(self.n, dtype=np.float64)
        hit = np.zeros(self.n, dtype=bool)
        for phrase in phrases:
            rows, counts = self.matches(phrase)
            if not len(rows):
                continue
            idf = np.log((self.n - len(rows) + 0.5) / (len(rows) + 0.5))
            idf = idf if idf > 0 else MIN_IDF
            scores[rows] += idf * counts * (K1 + 1) / (counts + self._norm[rows])
            hit[rows] = True
        return scores, hit


def phrases(words: list[str]) -> list[Phrase]:
    """Phrases of FTS5 query strings: each string's folded tokens, one phrase per string."""
    out = []
    for w in words:
        tokens = fold(w)
        if tokens:
            out.append(Phrase(tuple(tokens)))
    return out

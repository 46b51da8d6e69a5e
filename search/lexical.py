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
from dataclasses import dataclass

import numpy as np

from index import postings
from index.postings import fold

K1 = 1.2
B = 0.75
MIN_IDF = 1e-6
MAX_CHUNKS = 250_000  # about 200 MB of postings; beyond it FTS5 answers from disk
_POSITION_BITS = 20   # a row holds fewer than a million tokens (a chunk holds a few hundred)


@dataclass(frozen=True, slots=True)
class Phrase:
    """Terms that must stand next to each other, in order (one term: a plain term query)."""

    terms: tuple[str, ...]


class LexicalIndex:
    """Postings of every token of the FTS5 table `chunks_fts`, grouped by term."""

    def __init__(self, rowids: np.ndarray, lengths: np.ndarray, terms: dict[str, tuple[int, int]],
                 rows: np.ndarray, positions: np.ndarray):
        self.rowids = rowids          # row index -> FTS rowid (the chunk's vec_id)
        self.lengths = lengths        # tokens per row
        self.terms = terms            # term -> (start, end) into rows/positions
        self.rows = rows              # posting -> row index, sorted by (term, row, position)
        self.positions = positions    # posting -> token position within the row
        self.n = len(rowids)
        self.avgdl = float(lengths.sum()) / self.n if self.n else 0.0
        self._norm = K1 * (1 - B + B * lengths / self.avgdl) if self.n else lengths.astype(np.float64)

    @classmethod
    def from_postings(cls, p: postings.Postings) -> "LexicalIndex":
        return cls(p.rowids, np.asarray(p.lengths, dtype=np.float64), p.term_spans(), p.rows, p.positions)

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

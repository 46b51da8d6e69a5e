"""search.engine.lexical_top (the cut of the lexical scores at scale) against the reference: the
full {vec_id: score} dict of every match. Same top lists, on seeded random postings."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from search import lexical
from search.retrieval import lexical_top, top_n


@pytest.fixture(scope="module")
def index():
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(60)]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE chunks_fts USING fts5(terms)")
    for rowid in range(1, 3001):
        text = " ".join(rng.choice(words, size=int(rng.integers(3, 40)), p=None))
        conn.execute("INSERT INTO chunks_fts(rowid, terms) VALUES (?, ?)", (rowid * 3, text))  # gaps in rowids
    return lexical.LexicalIndex.load(conn)


@pytest.mark.parametrize("seed", range(6))
def test_same_top_lists_as_the_full_dict(index, seed):
    rng = np.random.default_rng(seed)
    groups = [(w, index.bm25_rows(lexical.phrases([f"w{int(i)}" for i in rng.integers(0, 60, 3)])))
              for w in (1.0, 0.4, 0.25)[: 1 + seed % 3]]
    full: dict[int, float] = {}
    for weight, (scores, hit) in groups:
        for k, v in zip(index.rowids[hit].tolist(), scores[hit].tolist()):
            full[k] = full.get(k, 0.0) + weight * v
    boosted = set(rng.choice(index.rowids, 200, replace=False).tolist()) if seed % 2 else set()
    cut = lexical_top(index, groups, 100, boosted)
    assert len(cut) < len(full)
    assert top_n(cut, 100) == top_n(full, 100)
    assert top_n({k: v for k, v in cut.items() if k in boosted}, 100) == \
        top_n({k: v for k, v in full.items() if k in boosted}, 100)


@pytest.mark.parametrize("seed", range(4))
def test_same_top_lists_within_allowed_ids(index, seed):
    rng = np.random.default_rng(100 + seed)
    groups = [(w, index.bm25_rows(lexical.phrases([f"w{int(i)}" for i in rng.integers(0, 60, 3)])))
              for w in (1.0, 0.4)]
    allowed = set(rng.choice(index.rowids, 1200, replace=False).tolist())
    boosted = set(rng.choice(sorted(allowed), 300, replace=False).tolist()) if seed % 2 else set()
    full: dict[int, float] = {}
    for weight, (scores, hit) in groups:
        for k, v in zip(index.rowids[hit].tolist(), scores[hit].tolist()):
            full[k] = full.get(k, 0.0) + weight * v
    full = {k: v for k, v in full.items() if k in allowed}
    cut = lexical_top(index, groups, 100, boosted, allowed)
    assert set(cut) <= allowed and len(cut) < len(full)
    assert top_n(cut, 100) == top_n(full, 100)
    assert top_n({k: v for k, v in cut.items() if k in boosted}, 100) == \
        top_n({k: v for k, v in full.items() if k in boosted}, 100)

"""search/maxscore.py (the pruned top-k of BM25) against the reference it replaces: every row scored
by `LexicalIndex.bm25_rows` and cut by `retrieval.lexical_top`. The same dict, bit for bit, on the
real session index's postings, for every dev question through the real prepare step, with allowed
and boosted rows, and with cuts that fall inside ties. Also: the faster phrase matching finds what
`matches` finds, and the per-term document frequencies written with the postings are right.
"""
from __future__ import annotations

import numpy as np
import pytest

from search import lexical, maxscore
from search.evaluation import load_queries
from search.retrieval import lexical_top
from tests.conftest import SHARED

pytestmark = pytest.mark.slow

DEV = SHARED / "eval" / "dev.jsonl"


@pytest.fixture(scope="module")
def index(searcher):
    assert searcher.lexical is not None, "the session index is small: its postings must be in memory"
    return searcher.lexical


@pytest.fixture(scope="module")
def questions(searcher):
    if not DEV.is_file():
        pytest.skip(f"input absent: {DEV} (the dev questions)")
    groups = []
    for q in load_queries(DEV):
        prepared = searcher.prepare(q.query)
        groups.append([(w, lexical.phrases(list(ps))) for w, ps in prepared.term_groups])
    assert len(groups) >= 50
    return groups


def reference(index, groups, keep, boosted=None, allowed=None) -> dict[int, float]:
    return lexical_top(index, [(w, index.bm25_rows(ps)) for w, ps in groups], keep, boosted, allowed)


def assert_identical(got: dict[int, float], want: dict[int, float]) -> None:
    assert got.keys() == want.keys()
    assert list(got) == list(want)  # ascending ids, as lexical_top gives them
    bits = np.array(list(got.values()), dtype=np.float64).view(np.int64)
    assert np.array_equal(bits, np.array(list(want.values()), dtype=np.float64).view(np.int64))


def tied_keep(index, groups) -> int | None:
    """A cut that falls inside a tie: keep such that the keep-th and next best scores are equal."""
    full = lexical_top(index, [(w, index.bm25_rows(ps)) for w, ps in groups], index.n)
    values = np.sort(np.array(list(full.values())))[::-1]
    ties = np.flatnonzero(values[1:] == values[:-1])
    return int(ties[0]) + 1 if len(ties) else None


@pytest.mark.parametrize("keep", [1, 3, 10, 100])
def test_the_same_dict_as_scoring_every_row(index, questions, keep):
    pruned = 0
    for groups in questions:
        plan = maxscore.Plan(index, groups)
        assert_identical(maxscore.top(plan, keep), reference(index, groups, keep))
        _rows, _partial, _theta, rest = plan._candidates(keep, None)
        pruned += bool(rest)
    # the comparison says something only where phrases were left unmatched (their bounds trusted)
    assert pruned >= (len(questions) // 4 if keep <= 10 else 5), pruned


def test_cuts_inside_ties_keep_every_tied_row(index, questions):
    tested = 0
    for groups in questions:
        keep = tied_keep(index, groups)
        if keep is None:
            continue
        want = reference(index, groups, keep)
        assert len(want) > keep  # the tie is kept whole
        assert_identical(maxscore.top(maxscore.Plan(index, groups), keep), want)
        tested += 1
    assert tested >= 10, tested


@pytest.mark.parametrize("seed", range(3))
def test_the_same_dict_within_allowed_and_boosted_rows(index, questions, seed):
    rng = np.random.default_rng(seed)
    ids = index.rowids
    for i, groups in enumerate(questions):
        size = [len(ids) // 2, len(ids) // 10, 300][(i + seed) % 3]  # the last: scored row by row
        allowed = set(rng.choice(ids, size, replace=False).tolist()) if i % 4 else None
        pool = sorted(allowed) if allowed is not None else ids
        boosted = set(rng.choice(pool, min(len(pool), [40, 400, 1500][i % 3]), replace=False).tolist())
        for keep in (5, 50):
            want = reference(index, groups, keep, boosted, allowed)
            assert_identical(maxscore.top(maxscore.Plan(index, groups), keep, allowed, boosted), want)


def test_finish_lexical_gives_the_reference_dict(searcher, index, questions, monkeypatch):
    retriever = searcher._loaded.retriever
    for prune_from in (0, maxscore.PRUNE_POSTINGS):  # pruned, and scored in full (a small index)
        monkeypatch.setattr(maxscore, "PRUNE_POSTINGS", prune_from)
        for groups in questions[:20]:
            strings = [(w, tuple(" ".join(p.terms) for p in ps)) for w, ps in groups]
            pending = retriever.start_lexical(strings)
            assert_identical(retriever.finish_lexical(pending, None, keep=20, boosted=set()),
                             reference(index, groups, 20))


def test_phrases_match_as_matches_does(index, questions):
    """Terms from their rows and counts by row, phrases from their rarest term: as from positions."""
    phrases = {p for groups in questions for _w, ps in groups for p in ps}
    assert sum(len(p.terms) > 1 for p in phrases) >= 30
    for phrase in phrases:
        rows, counts = index.matches(phrase)
        got_rows, values = index.scored(phrase)
        assert np.array_equal(got_rows, rows), phrase
        if len(rows):
            assert np.array_equal(values, index.contribution(index.idf(len(rows)), rows, counts)), phrase


def test_document_frequencies_are_the_rows_holding_each_term(index):
    for term, (start, end) in list(index.terms.items())[::7]:
        assert index.df(term) == len(np.unique(index.rows[start:end])), term

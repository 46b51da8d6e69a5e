"""The in-memory BM25 (search/lexical.py) against SQLite FTS5's own bm25() on the real session index.

Same vocabulary, same matching rows, same scores: for the query terms and glossary phrases of real
questions in four languages, for identifiers, and for phrases that must not match out of order.
"""
from __future__ import annotations

import pytest

from index import store
from search import lexical
from search.engine import Searcher
from search.prepare import query_terms

pytestmark = pytest.mark.slow

QUERIES = [
    "what prison sentence applies to human trafficking in Sweden?",
    "Menschenhandel zum Zweck der Ausbeutung der Arbeitskraft Freiheitsstrafe",
    "Hva er straffen for menneskehandel i Norge?",
    "Vilket straff gäller för människohandel?",
    "Which non-state actors are authorities expected to work with under the convention?",
    "§ 232a StGB and 4 kap. 1 a § brottsbalken",
]


@pytest.fixture(scope="module")
def index(searcher):
    assert searcher.lexical is not None, "the session index is small: its postings must be in memory"
    return searcher.lexical


def fts5_bm25(searcher: Searcher, phrases: list[str]) -> dict[int, float]:
    """FTS5's own bm25() (the store's query), the reference."""
    return store.fts_bm25(searcher.conn, phrases)


def assert_same(got: dict[int, float], want: dict[int, float]) -> None:
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


def test_vocabulary_is_fts5s(searcher, index):
    """Folding (lower case, diacritics off, split at non-letters) gives FTS5's terms, no more, no less."""
    assert index.vocabulary() == set(store.term_df(searcher.conn))
    assert "manniskohandel" in index.vocabulary()  # Swedish "människohandel", folded as unicode61 does
    assert index.n == searcher.size


@pytest.mark.parametrize("query", QUERIES)
def test_query_terms_score_as_fts5(searcher, index, query):
    terms = query_terms(query, searcher.languages)
    want = fts5_bm25(searcher, terms)
    assert want, "the query must match something, or the comparison says nothing"
    assert_same(index.bm25(lexical.phrases(terms)), want)


@pytest.mark.parametrize("query", QUERIES[:4])  # the four with glossary concepts
def test_glossary_phrases_score_as_fts5(searcher, index, query):
    from index.terms import analyze

    prepared = searcher.prepare(query)
    phrases = sorted({" ".join(analyze(t, lang, compounds=False, identifiers=False))
                      for lang, ts in prepared.expansion.terms for t in ts} - {""})
    assert any(" " in p for p in phrases), "some phrase must have several words"
    assert_same(index.bm25(lexical.phrases(phrases)), fts5_bm25(searcher, phrases))


def test_phrase_needs_its_words_in_order(searcher, index):
    """'human trafficking' matches where the two stems stand side by side, not reversed."""
    forward = index.bm25(lexical.phrases(["human traffick"]))
    backward = index.bm25(lexical.phrases(["traffick human"]))
    assert forward and set(forward) == set(fts5_bm25(searcher, ["human traffick"]))
    assert set(backward) == set(fts5_bm25(searcher, ["traffick human"]))
    assert len(backward) < len(forward)


def test_identifiers_and_numbers_as_fts5(searcher, index):
    """Identifier terms match whole; a dotted number is two tokens, as FTS5 splits it."""
    for phrases in (["p232a"], ["kap4p1a"], ["art13"], ["154.2"]):
        assert_same(index.bm25(lexical.phrases(phrases)), fts5_bm25(searcher, phrases))
    assert index.bm25(lexical.phrases(["p232a"])), "StGB § 232a is in the session corpus"
    assert lexical.fold("154.2") == ["154", "2"]


def test_search_ranks_the_same_with_either_lexical_backend(session_settings):
    """The whole search gives the same hits whether BM25 comes from memory or from FTS5."""
    memory = Searcher(session_settings.search)
    disk = Searcher(session_settings.replace(lexical_in_memory=False).search)
    assert memory.lexical is not None and disk.lexical is None
    for query in QUERIES:
        a, b = memory.search(query), disk.search(query)
        assert [h.chunk_id for h in a.hits] == [h.chunk_id for h in b.hits], query
        assert [round(h.score, 9) for h in a.hits] == [round(h.score, 9) for h in b.hits], query

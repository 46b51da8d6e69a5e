"""Query safety: hostile or odd queries never raise; an empty query gets a message.

On the demo index (fake embedder, conftest `demo_searcher`): the subject is query handling, not the model."""
from __future__ import annotations

import dataclasses

import pytest

from search.engine import EMPTY_QUERY_MESSAGE

HOSTILE = [
    '"', '""', '"forced labour', "forced labour\"", "((trafficking", "trafficking))", ")(", "(a OR b",
    "NEAR", "NEAR(trafficking labour, 2)", "trafficking NEAR/3 labour", "*", "traff*", "* OR *", "-", "-trafficking",
    "--", "a - b", ":", "terms:trafficking", "chunks_fts:forced", "^trafficking", "{terms}: labour",
    "AND", "OR", "NOT", "trafficking AND", "OR OR OR", "NOT NOT labour",
    "'; DROP TABLE chunks; --", "1' OR '1'='1", "\" OR 1=1 --", "x'); DELETE FROM documents; --",
    "UNION SELECT * FROM meta", "%_%", "\\", "\x00trafficking", "trafficking\x00\x1f\x7f",
    "Menschenhandel ∧ Zwangsarbeit", "människohandel OR \"tvångsarbete\"",
    "🙂", "trafficking 🙂🔥 victims", "👩‍👩‍👧‍👦", "\u200b\u200e\u200f", "\ufeffvictims",
    "الاتجار بالبشر", "סחר בבני אדם", "trafficking الاتجار mixed", "\u202eabuse\u202c",
    "ﬁnancial ﬂows", "ⅫⅣ", "x" * 10_000, ("trafficking " * 1000).strip(), "(" * 5000, "\"" * 9999,
    "a" + " NEAR " * 2000,
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_query_never_raises(demo_searcher, query):
    result = demo_searcher.search(query)
    assert isinstance(result.hits, tuple)
    assert result.hits or result.message  # either hits, or a message saying why not


@pytest.mark.parametrize("query", ["", "   ", "\n\t", None, "🙂", "()\"*-:", "\u200b"])
def test_empty_query_gets_a_message(demo_searcher, query):
    result = demo_searcher.search(query)
    assert result.hits == () and result.message == EMPTY_QUERY_MESSAGE


def test_sql_fragment_does_not_touch_the_store(demo_searcher):
    count = demo_searcher.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    demo_searcher.search("'; DROP TABLE chunks; --")
    demo_searcher.search("x'); DELETE FROM documents; --")
    assert demo_searcher.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == count


def test_fts_syntax_is_treated_as_words(demo_searcher):
    """Quotes and brackets are neutralised: the lexical side finds exactly what the plain words find.

    (Only the lexical side: the dense side embeds the query as typed, punctuation included.)
    """
    from search.engine import Searcher

    lexical = Searcher(dataclasses.replace(demo_searcher.settings, fusion="lexical"), embedder=demo_searcher.embedder)
    plain = [h.chunk_id for h in lexical.search("trafficking labour").hits]
    assert plain and [h.chunk_id for h in lexical.search('"trafficking" (labour)').hits] == plain
    assert [h.chunk_id for h in lexical.search('trafficking* -labour:').hits] == plain


def test_batch_mixes_empty_and_hostile_queries(demo_searcher):
    results = demo_searcher.search_batch(["", "(((", "victims of trafficking", "🙂"])
    assert [r.message for r in results][0] == EMPTY_QUERY_MESSAGE
    assert results[2].hits and results[3].message == EMPTY_QUERY_MESSAGE

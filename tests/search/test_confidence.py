"""Confidence and the "no strong match" notice (search/ranker.py weights, search/engine.py), on
the session index of real shared-corpus files with the real encoders: off-topic and nonsense
queries get the notice; dev queries whose grade-2 evidence is in the top 3 do not."""
from __future__ import annotations

import json

import pytest

from search.engine import NO_STRONG_MATCH
from search.evaluation import judge, load_queries
from search.ranker import DEFAULT_WEIGHTS
from tests.conftest import SESSION_FILES, SHARED

pytestmark = pytest.mark.slow

DEV = SHARED / "eval" / "dev.jsonl"


@pytest.fixture(scope="module")
def weighted(searcher):
    if not DEFAULT_WEIGHTS.is_file():
        pytest.fail(f"{DEFAULT_WEIGHTS} is missing: run `thb train-ranker`")
    return searcher


@pytest.mark.parametrize("query", ["qwzx blorf vantage", "recipe for apple pie"])
def test_off_topic_queries_get_the_notice(weighted, query):
    result = weighted.search(query)
    assert result.hits, "the nearest passages are still shown"
    assert result.notice == NO_STRONG_MATCH
    assert all(0.0 <= h.confidence < weighted.learned.meta["notice_threshold"] for h in result.hits)
    assert json.loads(json.dumps(result.hits[0].to_json()))["confidence"] == round(result.hits[0].confidence, 4)


def test_dev_queries_with_grade_2_evidence_in_the_top_3_get_no_notice(weighted):
    if not DEV.is_file():
        pytest.skip(f"input absent: {DEV}")
    queries = [q for q in load_queries(DEV) if all(r["path"] in SESSION_FILES for r in q.relevant)]
    results = weighted.search_batch([q.query for q in queries])
    strong = []
    for q, result in zip(queries, results):
        hits = [h.to_json() for h in result.hits]
        matched = [int(d.split(":ev")[1]) for d, _s in judge(q, hits, k=3) if d.startswith(f"{q.qid}:ev")]
        if any(q.relevant[i].get("grade", 1) >= 2 for i in matched):
            strong.append((q.qid, result.notice))
    assert len(strong) >= 5, strong
    assert [qid for qid, notice in strong if notice] == []

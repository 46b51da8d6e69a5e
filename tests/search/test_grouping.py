"""Grouping hits by priority: pure, after retrieval, never changes which hits are found."""
from __future__ import annotations

from dataclasses import replace

import pytest

from index.settings import DEFAULT_TAXONOMY
from index.taxonomy import load_taxonomy
from search.grouping import group_by_priority
from search.hits import Hit

TAXONOMY = load_taxonomy(DEFAULT_TAXONOMY)


def make_hit(rank: int, priorities: tuple[str, ...]) -> Hit:
    return Hit(rank=rank, score=1.0 / rank, chunk_id=f"d:{rank}", doc_id="d", doc_path="p.txt", title="T",
               doc_type="law", country="DE", language="de", year=2020, page=None, page_end=None, section="",
               paragraph="", start=0, end=1, text="x", priorities=priorities)


def test_groups_ordered_by_best_hit_with_shared_marker_and_other_last():
    hits = [make_hit(1, ("demand", "sexual_exploitation")), make_hit(2, ()), make_hit(3, ("victim_protection",)),
            make_hit(4, ("sexual_exploitation",))]
    groups = group_by_priority(hits, TAXONOMY)
    assert [g.priority_id for g in groups] == ["sexual_exploitation", "demand", "victim_protection", "other"]
    assert [tuple(h.rank for h in g.hits) for g in groups] == [(1, 4), (1,), (3,), (2,)]
    assert groups[0].shared_ranks == frozenset({1}) and groups[1].shared_ranks == frozenset({1})
    assert groups[2].shared_ranks == frozenset()
    assert groups[0].label == "Sexual exploitation" and groups[-1].label == "Other"
    assert [g.count for g in groups] == [2, 1, 1, 1]


def test_no_hits_no_groups():
    assert group_by_priority([], TAXONOMY) == []


@pytest.mark.slow
def test_grouping_preserves_the_set_of_real_hits(searcher):
    result = searcher.search("victim compensation and protection of trafficked persons", top_k=10)
    assert result.hits
    groups = group_by_priority(result.hits, TAXONOMY)
    grouped = {h.chunk_id for g in groups for h in g.hits}
    assert grouped == {h.chunk_id for h in result.hits}
    assert sum(g.count for g in groups) == sum(max(1, len(h.priorities)) for h in result.hits)
    again = group_by_priority(result.hits, TAXONOMY)
    assert again == groups
    untagged = [replace(h, priorities=()) for h in result.hits]
    assert [g.priority_id for g in group_by_priority(untagged, TAXONOMY)] == ["other"]


def test_once_puts_each_hit_under_its_strongest_priority_only():
    """The app's grouped list (group_by_priority(once=True)): a hit with two priorities shows once,
    under the one its tag scores rank first; "Other" comes last; the plain grouping shows it twice."""
    both = replace(make_hit(2, ("demand", "gender")), priority_scores={"demand": 0.4, "gender": 0.9})
    hits = [make_hit(1, ()), both, make_hit(3, ("demand",))]
    once = group_by_priority(hits, TAXONOMY, once=True)
    assert [(g.priority_id, [h.rank for h in g.hits]) for g in once] == [("gender", [2]), ("demand", [3]), ("other", [1])]
    assert all(not g.shared_ranks for g in once)
    every = group_by_priority(hits, TAXONOMY)
    assert sum(len(g.hits) for g in every) == 4 and all(2 in g.shared_ranks for g in every if g.priority_id != "other")
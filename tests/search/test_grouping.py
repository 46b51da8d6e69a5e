"""Grouping hits by priority: pure, after retrieval, never changes which hits are found."""
from __future__ import annotations

from dataclasses import replace

import pytest

from ingest.settings import DEFAULT_TAXONOMY
from ingest.taxonomy import load_taxonomy
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


def test_a_group_holding_a_top_three_hit_is_never_folded():
    """The best hit untagged: "Other" comes fourth, after three priority groups, and still opens."""
    import re

    from ui.app_render import results_html

    hits = [make_hit(1, ()), make_hit(4, ("demand",)), make_hit(5, ("victim_protection",)),
            make_hit(6, ("gender",)), make_hit(7, ("third_country",))]
    groups = group_by_priority(hits, TAXONOMY)
    assert [g.priority_id for g in groups] == ["demand", "victim_protection", "gender", "third_country", "other"]
    opened = re.findall(r'<details class="thb-group" data-priority="([^"]+)"( open)?>', results_html(groups))
    assert [pid for pid, is_open in opened if is_open] == ["demand", "victim_protection", "gender", "other"]

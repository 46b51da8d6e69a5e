"""Group ranked hits by thematic priority, after retrieval (never changes which hits are found)."""
from __future__ import annotations

from dataclasses import dataclass

from index.taxonomy import Taxonomy
from search.hits import Hit

OTHER_ID = "other"
OTHER_LABEL = "Other"


@dataclass(frozen=True, slots=True)
class PriorityGroup:
    """Hits bearing on one priority, in rank order; `shared_ranks` are hits also in another group."""

    priority_id: str
    label: str
    hits: tuple[Hit, ...]
    shared_ranks: frozenset[int]

    @property
    def count(self) -> int:
        return len(self.hits)


def hit_priorities(hit) -> tuple[str, ...]:
    """The hit's priority ids, strongest first (by its tag scores when it has them)."""
    ids = list(dict.fromkeys(hit.priorities))
    scores = hit.priority_scores or {}
    return tuple(sorted(ids, key=lambda p: (-float(scores.get(p, 0.0)), ids.index(p))))


def bucket_of(hit) -> tuple[str, ...]:
    """The priority ids a hit counts under (in the heatmap, the overview): OTHER_ID when untagged."""
    return hit_priorities(hit) or (OTHER_ID,)


def group_by_priority(hits, taxonomy: Taxonomy | None, *, once: bool = False) -> list[PriorityGroup]:
    """Priorities that have hits, ordered by their best hit's rank, then "Other" (no priority).

    A hit with several priorities appears under each, and its rank is in each group's
    `shared_ranks`; with `once`, only under its strongest (the app's grouped list, where a
    passage shown twice would read as two answers). Priority ids the taxonomy does not know are
    grouped under their own id.
    """
    ordered = sorted(hits, key=lambda h: h.rank)
    members: dict[str, list[Hit]] = {}
    other: list[Hit] = []
    for hit in ordered:
        ids = list(hit_priorities(hit)[:1] if once else dict.fromkeys(hit.priorities))
        if not ids:
            other.append(hit)
        for pid in ids:
            members.setdefault(pid, []).append(hit)
    order = {p.id: n for n, p in enumerate(taxonomy.priorities)} if taxonomy else {}
    keys = sorted(members, key=lambda pid: (members[pid][0].rank, order.get(pid, len(order)), pid))
    groups = []
    for pid in keys:
        group_hits = tuple(members[pid])
        shared = frozenset(h.rank for h in group_hits if len(set(h.priorities)) > 1 and not once)
        label = taxonomy.label_of(pid) if taxonomy else pid
        groups.append(PriorityGroup(pid, label, group_hits, shared))
    if other:
        groups.append(PriorityGroup(OTHER_ID, OTHER_LABEL, tuple(other), frozenset()))
    return groups

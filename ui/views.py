"""The one path both front ends share: filters, top_k, citation and grouping, each built once.

The CLI (ui/cli.py) and the app (ui/app.py) turn what a user typed into the same `Filters`, ask
for the same number of hits, cite a hit the same way and group hits by the same taxonomy.
"""
from __future__ import annotations

from index.taxonomy import Taxonomy
from search.grouping import PriorityGroup, group_by_priority
from search.hits import Filters


def filters_from(countries=(), doc_types=(), languages=(), year_from=None, year_to=None, priorities=(),
                 strengths=()) -> Filters:
    """`Filters` from a user's choices: country codes upper-cased, blank or non-positive years dropped."""
    return Filters(countries=tuple(c.strip().upper() for c in countries or () if c and c.strip()),
                   doc_types=tuple(doc_types or ()), languages=tuple(languages or ()),
                   year_from=_year(year_from), year_to=_year(year_to),
                   priorities=tuple(priorities or ()), strengths=tuple(strengths or ()))


def _year(value) -> int | None:
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None



def groups(hits, taxonomy: Taxonomy) -> list[PriorityGroup]:
    """Hits grouped by thematic priority, "Other" last (search/grouping.py)."""
    return group_by_priority(list(hits), taxonomy)


def groups_json(hits, taxonomy: Taxonomy) -> list[dict]:
    """The groups as the JSON output carries them."""
    return [{"priority": g.priority_id, "label": g.label, "count": len(g.hits),
             "hits": [{"rank": h.rank, "chunk_id": h.chunk_id, "shared": h.rank in g.shared_ranks} for h in g.hits]}
            for g in groups(hits, taxonomy)]

"""GRETA recommendations across evaluation rounds: is each one repeated from the round before,
new, or no longer made?

Each recommendation of round n is paired with the most similar one of round n-1 for the same
country (cosine of MiniLM vectors, stored at ingest). A pair at or above REPEATED_MIN_COSINE is
"repeated from round n-1"; below it the recommendation is "new". Recommendations of round n-1
that no recommendation of round n picked are "no longer made".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Calibrated on the Latvian fixture pair (tests/greta_fixtures.py, rounds 2 and 3; `python -m
# bench.greta`): the three repeated recommendations score 0.84-0.91 with MiniLM, the best pair
# that is not a repeat 0.75; the threshold is the midpoint. Eight pairs, in-sample: a first guess
# to check on real reports.
REPEATED_MIN_COSINE = 0.79


@dataclass(frozen=True, slots=True)
class RoundLink:
    """A recommendation's standing against the previous round."""

    rec: object  # index.recommendations.StoredRecommendation
    status: str  # repeated | new | no longer made
    previous: object | None = None
    cosine: float = 0.0

    @property
    def label(self) -> str:
        if self.status == "repeated":
            return f"repeated from round {self.previous.round}"
        return self.status


def link_rounds(current: list, previous: list, vectors: dict[int, np.ndarray],
                threshold: float = REPEATED_MIN_COSINE) -> list[RoundLink]:
    """Links for every recommendation of `current`, then the `previous` ones no longer made.
    `vectors` maps rec_id to a unit-length vector. Pure: no I/O, no model."""
    if not previous:
        return [RoundLink(r, "new") for r in current]
    prev = np.vstack([vectors[p.rec_id] for p in previous])
    cur = np.vstack([vectors[r.rec_id] for r in current]) if current else np.zeros((0, prev.shape[1]))
    sims = cur @ prev.T
    # One-to-one, most similar pairs first: two recommendations of round n never share a predecessor.
    match: dict[int, int] = {}
    used: set[int] = set()
    for flat in np.argsort(-sims, axis=None, kind="stable"):
        i, j = divmod(int(flat), len(previous))
        if sims[i, j] < threshold:
            break
        if i not in match and j not in used:
            match[i] = j
            used.add(j)
    links = []
    for i, rec in enumerate(current):
        j = match.get(i, int(np.argmax(sims[i])))
        links.append(RoundLink(rec, "repeated" if i in match else "new", previous[j], float(sims[i, j])))
    links += [RoundLink(p, "no longer made") for j, p in enumerate(previous) if j not in used]
    return links


def across_rounds(settings, conn, country: str, round_: int | None = None) -> list[RoundLink]:
    """Links of one country's latest round (or `round_`) against the round before it."""
    from index.embedder import Embedder, model_dimension
    from index.recommendations import RecommendationFilters, list_recommendations, recommendation_vectors

    recs = list_recommendations(conn, RecommendationFilters(countries=(country,)))
    rounds = sorted({r.round for r in recs if r.round})
    if not rounds:
        return []
    target = round_ or rounds[-1]
    current = [r for r in recs if r.round == target]
    earlier = [n for n in rounds if n < target]
    previous = [r for r in recs if earlier and r.round == earlier[-1]]
    both = current + previous
    vectors = recommendation_vectors(conn, [r.rec_id for r in both], model_dimension(settings.model_name))
    missing = [r for r in both if r.rec_id not in vectors]
    if missing:  # ingested without a tagger: embed them now
        for r, v in zip(missing, Embedder.for_settings(settings).embed_batch([r.text for r in missing])):
            vectors[r.rec_id] = np.asarray(v, dtype=np.float32)
    vectors = {k: v / (np.linalg.norm(v) or 1.0) for k, v in vectors.items()}
    return link_rounds(current, previous, vectors)

"""Score fusion: pure functions over {id: score} maps (higher is better)."""
from __future__ import annotations


def min_max(scores: dict[int, float]) -> dict[int, float]:
    """Scale scores to [0, 1]; a single score (or all equal) maps to 1."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high - low < 1e-12:
        return {k: 1.0 for k in scores}
    return {k: (v - low) / (high - low) for k, v in scores.items()}


def convex(lexical: dict[int, float], dense: dict[int, float], *, lexical_weight: float) -> dict[int, float]:
    """w·minmax(lexical) + (1-w)·minmax(dense); an id missing from one side scores 0 there."""
    lex, den = min_max(lexical), min_max(dense)
    return {k: lexical_weight * lex.get(k, 0.0) + (1 - lexical_weight) * den.get(k, 0.0)
            for k in set(lex) | set(den)}


def rrf(runs: list[dict[int, float]], *, k: int = 60) -> dict[int, float]:
    """Reciprocal-rank fusion (Cormack et al. 2009, k=60); ties ranked by id for determinism."""
    fused: dict[int, float] = {}
    for run in runs:
        ranked = sorted(run.items(), key=lambda kv: (-kv[1], kv[0]))
        for rank, (key, _score) in enumerate(ranked, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused


def boost(scores: dict[int, float], ids: "set[int] | frozenset[int]", amount: float) -> dict[int, float]:
    """Add `amount` to the scores of `ids` (e.g. chunks of a country the query names)."""
    return {k: v + amount if k in ids else v for k, v in scores.items()}


def idf(term_sets) -> dict[str, float]:
    """log(N / df) of each term over a collection of term sets (e.g. document titles)."""
    import math

    sets = list(term_sets)
    df: dict[str, int] = {}
    for terms in sets:
        for t in set(terms):
            df[t] = df.get(t, 0) + 1
    return {t: math.log(len(sets) / n) for t, n in df.items()}


def weighted_overlap(query_terms: set[str], target_terms, weights: dict[str, float]) -> float:
    """Weighted share of the query's terms found in the target: sum w(matched) / sum w(query)."""
    total = sum(weights.get(t, 0.0) for t in query_terms)
    if total <= 0:
        return 0.0
    return sum(weights.get(t, 0.0) for t in query_terms if t in target_terms) / total


def term_weights(terms, df: dict[str, int], n_docs: int) -> dict[str, float]:
    """bm25-style idf of each term, floored at 0: words in most passages ("the", "of") weigh ~nothing."""
    import math

    return {t: max(0.0, math.log((n_docs - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5))) for t in terms}


def coverage(weights: dict[str, float], terms) -> float:
    """Weighted share of the query's terms that occur in `terms` (a passage or one sentence)."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    present = set(terms)
    return sum(w for t, w in weights.items() if t in present) / total


def best_sentence_coverage(weights: dict[str, float], sentences) -> float:
    """The best coverage of any one sentence: the answer to a question usually sits in one sentence."""
    return max((coverage(weights, s) for s in sentences), default=0.0)


def relative_by_group(scores: dict[int, tuple[str, float]]) -> dict[int, float]:
    """Each score divided by the best score of its group ({id: (group, score)}); 0 when the best is 0."""
    best: dict[str, float] = {}
    for group, v in scores.values():
        best[group] = max(best.get(group, 0.0), v)
    return {k: (v / best[g] if best[g] > 0 else 0.0) for k, (g, v) in scores.items()}


def document_prior(scores: dict[int, float], doc_of: dict[int, str], *, weight: float,
                   depth: int = 3) -> dict[int, float]:
    """Add `weight` x the mean of each document's `depth` best scores to all its chunks' scores.

    Evidence aggregated per document: a statute or report with several strong passages is more
    likely the source the question is about than one with a single lucky passage.
    """
    if not weight or not scores:
        return dict(scores)
    best: dict[str, list[float]] = {}
    for k, v in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
        top = best.setdefault(doc_of.get(k, ""), [])
        if len(top) < depth:
            top.append(v)
    prior = {d: sum(v) / depth for d, v in best.items()}
    return {k: v + weight * prior[doc_of.get(k, "")] for k, v in scores.items()}

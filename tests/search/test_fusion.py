"""Fusion against plain reference implementations on seeded random runs."""
from __future__ import annotations

import random

import pytest

from search import fusion


def reference_convex(lexical, dense, w):
    def norm(run):
        if not run:
            return {}
        lo, hi = min(run.values()), max(run.values())
        return {k: 1.0 if hi - lo < 1e-12 else (v - lo) / (hi - lo) for k, v in run.items()}
    lex, den = norm(lexical), norm(dense)
    out = {}
    for k in list(lex) + list(den):
        out[k] = w * lex.get(k, 0.0) + (1 - w) * den.get(k, 0.0)
    return out


def reference_rrf(runs, k=60):
    out = {}
    for run in runs:
        for rank, key in enumerate(sorted(run, key=lambda x: (-run[x], x)), start=1):
            out[key] = out.get(key, 0.0) + 1 / (k + rank)
    return out


def random_run(rng, n_ids=60, size=30):
    return {i: rng.uniform(-5, 30) for i in rng.sample(range(n_ids), rng.randint(0, size))}


@pytest.mark.parametrize("seed", range(25))
def test_convex_matches_reference_on_random_runs(seed):
    rng = random.Random(seed)
    lex, den, w = random_run(rng), random_run(rng), rng.choice([0.0, 0.3, 0.5, 0.7, 1.0])
    got, want = fusion.convex(lex, den, lexical_weight=w), reference_convex(lex, den, w)
    assert got.keys() == want.keys()
    assert all(abs(got[k] - want[k]) < 1e-9 for k in got)


@pytest.mark.parametrize("seed", range(25))
def test_rrf_matches_reference_on_random_runs(seed):
    rng = random.Random(seed)
    runs = [random_run(rng) for _ in range(rng.randint(1, 3))]
    got, want = fusion.rrf(runs), reference_rrf(runs)
    assert got.keys() == want.keys()
    assert all(abs(got[k] - want[k]) < 1e-12 for k in got)


def test_min_max_maps_single_score_to_one():
    assert fusion.min_max({7: 3.0}) == {7: 1.0}
    assert fusion.min_max({}) == {}


def test_boost_adds_only_to_named_ids():
    assert fusion.boost({1: 0.5, 2: 0.2}, {2, 3}, 0.5) == {1: 0.5, 2: 0.7}


def test_weighted_overlap_counts_rare_title_words_more():
    idf = fusion.idf([{"unodc", "traffick"}, {"fbi", "traffick"}, {"cbss", "traffick"}])
    assert idf["traffick"] == 0.0
    assert fusion.weighted_overlap({"unodc", "traffick"}, {"unodc", "traffick"}, idf) == 1.0
    assert fusion.weighted_overlap({"unodc", "traffick"}, {"fbi", "traffick"}, idf) == 0.0


def test_term_weights_make_common_words_weigh_nothing():
    w = fusion.term_weights(["the", "menschenhandel"], {"the": 95, "menschenhandel": 3}, 100)
    assert w["the"] == 0.0 and w["menschenhandel"] > 2.0


def test_coverage_and_best_sentence():
    w = {"victim": 1.0, "testify": 3.0}
    assert fusion.coverage(w, ["victim", "x"]) == 0.25
    # one sentence holding both terms beats terms spread over two sentences
    assert fusion.best_sentence_coverage(w, [["victim", "testify"], ["x"]]) == 1.0
    assert fusion.best_sentence_coverage(w, [["victim"], ["testify"]]) == 0.75
    assert fusion.best_sentence_coverage({}, [["victim"]]) == 0.0


def test_relative_by_group_compares_within_each_group():
    out = fusion.relative_by_group({1: ("en", 0.8), 2: ("en", 0.4), 3: ("de", 0.2), 4: ("fi", 0.0)})
    assert out == {1: 1.0, 2: 0.5, 3: 1.0, 4: 0.0}


def reference_document_prior(scores, doc_of, weight, depth):
    out = {}
    for k, v in scores.items():
        mine = sorted((s for j, s in scores.items() if doc_of[j] == doc_of[k]), reverse=True)[:depth]
        out[k] = v + weight * sum(mine) / depth
    return out


@pytest.mark.parametrize("seed", range(5))
def test_document_prior_matches_reference_on_random_runs(seed):
    rng = random.Random(seed)
    scores = {i: rng.random() for i in range(rng.randint(1, 40))}
    doc_of = {i: f"d{rng.randint(0, 5)}" for i in scores}
    got = fusion.document_prior(scores, doc_of, weight=0.5, depth=3)
    want = reference_document_prior(scores, doc_of, 0.5, 3)
    assert got.keys() == want.keys()
    assert all(abs(got[k] - want[k]) < 1e-9 for k in got)


def test_document_prior_lifts_a_document_with_several_strong_passages():
    # d1 has one lucky chunk (0.9), d2 three good ones (0.8 each): d2's best now ranks first.
    scores = {1: 0.9, 2: 0.1, 3: 0.8, 4: 0.8, 5: 0.8}
    doc_of = {1: "d1", 2: "d1", 3: "d2", 4: "d2", 5: "d2"}
    out = fusion.document_prior(scores, doc_of, weight=0.5, depth=3)
    assert max(out, key=lambda k: (out[k], -k)) == 3
    assert fusion.document_prior(scores, doc_of, weight=0.0) == scores


@pytest.mark.parametrize("seed", range(10))
def test_top_n_matches_a_sorted_reference_with_ties_broken_by_id(seed):
    from search.retrieval import top_n

    rng = random.Random(seed)
    for _ in range(200):
        scores = {rng.randint(0, 200): rng.choice([0.5, 1.0, rng.uniform(-3, 30)]) for _ in range(rng.randint(0, 120))}
        n = rng.randint(0, 130)
        want = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        assert list(top_n(scores, n).items()) == want

"""Ranking: one pure function from a query's candidates to their scores, with explicit parameters.

`RankParams` names every knob (the fusion, its weights, the country boost, the document prior,
the section boost). `thb eval --config` switches features off by changing them, and nothing here
reads a setting, a file or the index: the same candidates and parameters give the same scores.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from index.terms import identifier_terms
from search import fusion
from search.retrieval import Candidates
from search.settings import FUSIONS



@dataclass(frozen=True, slots=True)
class Tuning:
    """The pipeline's features beyond the user's settings, each measured on dev when it was added.

    One object so that `thb eval --config` can switch each feature off and compare side by side.
    """

    # Document-level evidence: each chunk gets doc_prior_weight x the mean of its document's
    # doc_prior_depth best fused scores (a missing chunk counts 0), so a document with several strong
    # passages outranks a lone lucky chunk elsewhere. Measured on dev (weight x depth): 0.1-0.2 no
    # change; 0.3-0.7 with depth 3-5 all .457 -> .466-.472 (no kind lower); 1.0 and over hurt.
    doc_prior_weight: float = 0.5
    doc_prior_depth: int = 3
    # A non-English question is matched against the glossary in its own language too
    # (search/prepare.py expansion_for): native-language law .337 -> .485 with dense_glossary.
    native_expansion: bool = True
    # A non-English query embeds with the English glossary terms of its concepts appended.
    dense_glossary: bool = True
    # The lexical weight of the convex fusion for a query not in English (None: the settings'
    # lexical_weight for every query). MiniLM reads little but English, so its vote on a German
    # question is weaker. Measured on dev: 0.6-0.9 all give native-language law .485 -> .580.
    native_lexical_weight: float | None = 0.7
    # A hit whose labelled section (an article, a §) is short shows that whole section
    # (search/passages.py). Measured on dev: all .598 -> .614, comparative .298 -> .380.
    provision_hits: bool = True
    # A question on one international instrument (it names one in corpus/glossary/instruments.toml,
    # no country, and is not comparative) boosts that instrument's chunks as a named country's are.
    instrument_boost: bool = True
    # ... and every side of retrieval reads it without the instrument's name (search/comparative.py
    # without_name). Measured on dev, both: all .563 -> .608, instrument .351 -> .596, no kind
    # lower. The boost alone: .584 and .465; the name off for BM25 and MiniLM but not e5: .599 and
    # .545; boosting every named instrument of comparative questions too cost comparative .504 ->
    # .432 and cross-lingual .598 -> .577.
    instrument_name_off: bool = True
    # A chunk whose role (ingest/roles.py) is one that does not answer a question of substance (a
    # preamble, an excerpt's editorial note, references, a title page, a table of contents) keeps
    # 1 - role_prior of its score: a prior, not a filter. Of the fusion's top-10 hits on dev, 33
    # had one of these roles and none was evidence. Measured on dev (all, comparative, instrument):
    # 0 .608 .504 .596; 0.1 .623 .546 .640; 0.2 .629 .550 .640; 0.3-0.9 .629 .551 .640; no kind
    # lower at any value. 5-fold CV over queries, each fold taking its best value of 0-0.9: CV
    # .629. Of the plateau the softest is kept: "Why did states agree on the Council of Europe
    # convention?" keeps its preamble first at 0.2, not at 0.3. Final clauses are not demoted:
    # "when did it enter into force?" asks for one.
    role_prior: float = 0.2
    role_prior_roles: frozenset[str] = frozenset({"preamble", "editorial_note", "references", "front_matter", "toc"})

    @classmethod
    def off(cls) -> "Tuning":
        """Every feature of this object off: the ranking before they were added."""
        return cls(doc_prior_weight=0.0, native_expansion=False, dense_glossary=False,
                   native_lexical_weight=None, provision_hits=False, instrument_boost=False,
                   instrument_name_off=False, role_prior=0.0)


@dataclass(frozen=True, slots=True)
class RankParams:
    """Every parameter of `rank` and `second_stage`."""

    fusion: str = "convex"            # convex | rrf | dense | lexical
    lexical_weight: float = 0.5       # convex: the lexical share, the dense side has the rest
    native_lexical_weight: float | None = 0.7  # the lexical share for a query not in English
    country_boost: float = 0.5        # added to the chunks of a country the query names
    doc_prior_weight: float = 0.5
    doc_prior_depth: int = 3
    # A chunk whose own section label carries the identifier the query asks for ("§ 232a",
    # "Article 13") gets this much: the section itself outranks the chunks that cite it.
    section_boost: float = 0.5
    rerank_depth: int = 50            # the second stage looks at this many of the best

    def __post_init__(self):
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; choose from {', '.join(FUSIONS)}")


def rank(candidates: Candidates, params: RankParams, doc_of: Mapping[int, str], *, native: bool) -> dict[int, float]:
    """The first-stage score of every candidate: fused lexical and dense scores, the named
    countries' boost and the document prior. `native`: the query is not in English."""
    lexical, dense = candidates.lexical, candidates.dense
    if params.fusion == "rrf":
        fused = fusion.rrf([lexical, dense])
    elif params.fusion == "dense":
        fused = fusion.min_max(dense)
    elif params.fusion == "lexical":
        fused = fusion.min_max(lexical)
    else:
        weight = params.lexical_weight
        if native and params.native_lexical_weight is not None:
            weight = params.native_lexical_weight
        fused = fusion.convex(lexical, dense, lexical_weight=weight)
    if candidates.boosted:
        fused = fusion.boost(fused, candidates.boosted, params.country_boost)  # a frozenset: no copy
    if params.doc_prior_weight:
        fused = fusion.document_prior(fused, doc_of, weight=params.doc_prior_weight, depth=params.doc_prior_depth)
    return fused


def role_prior(scores: dict[int, float], candidates: list[int], rows: Mapping, tuning: Tuning) -> dict[int, float]:
    """`scores` with each candidate whose stored role is one of tuning.role_prior_roles lowered by
    tuning.role_prior of its score ({vec_id: StoredChunk} `rows`; changed in place and returned)."""
    if not tuning.role_prior:
        return scores
    for k in candidates:
        row = rows.get(k)
        if row is not None and row.role in tuning.role_prior_roles:
            scores[k] -= tuning.role_prior * abs(scores[k])
    return scores


def second_stage(scores: dict[int, float], top: list[int], sections: Mapping[int, tuple[str, str]],
                 identifiers: tuple[str, ...], params: RankParams) -> dict[int, float]:
    """Rescore `top` (the best of `scores`): a chunk whose section label ({vec_id: (section,
    language)}) holds the identifiers the query asks for gains section_boost x their share.
    "4 kap. 1 a §" wants kap4p1a, not merely kap4."""
    if not params.section_boost or not scores or not identifiers:
        return scores
    wanted = set(identifiers)
    out = dict(scores)
    for k in top:
        section, language = sections.get(k, ("", "en"))
        if section:
            shared = wanted & set(identifier_terms(section, language))
            if shared:
                out[k] += params.section_boost * len(shared) / len(wanted)
    return out

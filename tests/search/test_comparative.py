"""Comparative questions (search/comparative.py): the instruments a question names, the merge that
gives each named source its best passage, and on the session index (real files, real encoders) a
question naming three instruments returns all three in the top 10. A question on one instrument
is searched without its name, within a boost to its chunks: its article comes before its preamble."""
from __future__ import annotations

import pytest

from search.comparative import (INSTRUMENTS_FILE, Source, load_instruments, merge, named_sources, single_instrument,
                                without_name)
from search.hits import Hit
from search.settings import DEFAULT_GLOSSARY

INSTRUMENTS = load_instruments(DEFAULT_GLOSSARY.with_name(INSTRUMENTS_FILE))
PATHS = {"d197": "international/coe-cets197-convention-action-against-trafficking.txt",
         "dpal": "international/un-palermo-trafficking-protocol-2000.txt",
         "d029": "international/ilo-c029-forced-labour-convention-1930.txt",
         "dno": "legislation/no-straffeloven-2005.txt"}
THREE = ("How do the Palermo Protocol, the ILO Forced Labour Convention and the Council of Europe "
         "Convention define exploitation?")


def _hit(rank: int, doc_id: str, country: str = "", confidence: float | None = None) -> Hit:
    return Hit(rank=rank, score=1.0 / rank, chunk_id=f"{doc_id}-{rank}", doc_id=doc_id, doc_path=PATHS.get(doc_id, ""),
               title=doc_id, doc_type="x", country=country, language="en", year=None, page=None, page_end=None,
               section="", paragraph="", start=0, end=1, text="t", confidence=confidence)


def test_a_question_naming_three_instruments_names_their_documents():
    sources = named_sources(THREE, (), INSTRUMENTS, PATHS)
    assert [sorted(s.doc_ids) for s in sources] == [["d197"], ["d029"], ["dpal"]]
    assert named_sources("What does the law say about forced marriage?", (), INSTRUMENTS, PATHS) == []
    assert [s.country for s in named_sources("Sweden vs Norway", ("SE", "NO"), INSTRUMENTS, PATHS)] == ["SE", "NO"]


def test_merge_gives_each_missing_source_its_most_confident_passage():
    main = tuple(_hit(r, "dno", "NO") for r in range(1, 11))
    subs = [(Source("NO", country="NO"), main[:3]),
            (Source("Palermo", doc_ids=frozenset({"dpal"})), (_hit(1, "dpal", confidence=0.1),
                                                             _hit(2, "dpal", confidence=0.6))),
            (Source("C029", doc_ids=frozenset({"d029"})), ())]
    merged = merge(main, subs, 10)
    assert len(merged) == 10 and [h.rank for h in merged] == list(range(1, 11))
    assert merged[-1].chunk_id == "dpal-2"  # the more confident of its sub-search
    assert merged[0].chunk_id == "dno-1"
    assert merge(main, subs[:1], 10) == main


@pytest.mark.slow
def test_three_named_instruments_all_answer_in_the_top_10(searcher):
    hits = searcher.search(THREE).hits
    paths = {h.doc_path for h in hits}
    assert {PATHS["d197"], PATHS["dpal"], PATHS["d029"]} <= paths, [h.doc_path for h in hits]


def test_a_question_on_one_instrument_is_read_without_its_name():
    question = "Under the Council of Europe convention, may victims be punished for crimes they were forced to commit?"
    instrument = single_instrument(question, INSTRUMENTS)
    assert instrument is not None and "CETS 197" in instrument.name
    assert without_name(question, instrument) == ("Under the , may victims be punished for crimes they were "
                                                  "forced to commit?")
    assert single_instrument(THREE, INSTRUMENTS) is None  # several sources: comparative
    assert single_instrument("What does the law say about forced marriage?", INSTRUMENTS) is None
    palermo = single_instrument("What does the Palermo Protocol say?", INSTRUMENTS)
    assert palermo is not None and without_name("What does the Palermo Protocol say?", palermo) is None


ONE_INSTRUMENT = "Under the Council of Europe convention, may victims be punished for crimes they were forced to commit?"


@pytest.mark.slow
def test_a_question_on_one_instrument_gets_its_article_not_its_preamble(searcher):
    # A question not in the dev set. Searched by its words, the convention's title and preamble
    # (which repeat "Council of Europe ... Convention") and ILO C29's "collective punishment"
    # article came first; the answer is CETS 197 Art. 26, the non-punishment provision.
    hits = searcher.search(ONE_INSTRUMENT).hits
    assert hits[0].doc_path == PATHS["d197"] and "Article 26" in hits[0].section, [(h.doc_path, h.section) for h in hits]
    assert all(h.role != "preamble" for h in hits[:3]), [(h.section, h.role) for h in hits[:3]]


def test_an_instrument_the_index_lacks_keeps_its_name(demo_searcher):
    # Query handling, not ranking: the demo index (fake embedder) holds the Palermo Protocol but not
    # CETS 197. Without its documents, the instrument's name is all the question says of it.
    demo_searcher.refresh()
    assert demo_searcher.sources.retrieval_text(ONE_INSTRUMENT) == ONE_INSTRUMENT
    palermo = "Under the Palermo Protocol, may victims be punished for crimes they were forced to commit?"
    assert demo_searcher.sources.retrieval_text(palermo) == ("Under the , may victims be punished for crimes they "
                                                             "were forced to commit?")


@pytest.mark.slow
def test_the_task_forces_own_plan_is_a_source_a_question_can_name(searcher):
    # "the CBSS strategy" names the Task Force's strategic plans (corpus/glossary/instruments.toml):
    # a question on it gets the plan's passages, as a question on one convention gets the
    # convention's. Before the plans were in the table, two of the top 5 were the plan's.
    result = searcher.search("What does the CBSS strategy say about child victims?", top_k=5)
    plans = [h for h in result.hits if "cbss-tf-thb-strategic-plan" in h.doc_path]
    assert len(plans) >= 4, [(h.doc_path, h.section) for h in result.hits]

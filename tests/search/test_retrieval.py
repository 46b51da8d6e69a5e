"""Lexical identifiers, compounds, glossary expansion, country understanding, and where hits land."""
from __future__ import annotations

import dataclasses

from pathlib import Path

import pytest

from index.terms import analyze, identifier_terms, split_compound
from search.settings import DEFAULT_GLOSSARY
from search.glossary import expand, load_glossary
from search.prepare import without_query_terms
from search.glossary import Expansion
from search.query import load_countries, query_language, understand

COUNTRIES = DEFAULT_GLOSSARY.with_name("countries.toml")


def test_identifiers_are_normalised_the_same_in_text_and_query():
    assert identifier_terms("StGB § 232a Zwangsprostitution", "de") == ["p232a"]
    assert identifier_terms("§232a") == ["p232a"]
    assert "art13" in identifier_terms("CETS 197 Article 13 Recovery", "en")
    assert "art13" in identifier_terms("see Art. 13")
    assert identifier_terms("BrB 4 kap. 1 a §", "sv") == ["kap4p1a", "p1a", "kap4"]
    assert "art154x2" in identifier_terms("Krimināllikums 154.2 pants", "lv")
    assert "art227a" in identifier_terms("Almenn hegningarlög 227. gr. a", "is")


def test_polish_paragraph_after_article_is_not_a_section():
    assert identifier_terms("Kodeks karny Art. 189a § 1", "pl") == ["art189a"]


def test_compounds_split_on_known_heads():
    assert split_compound("freiheitsstrafe", "de") == ("freiheit", "strafe")
    assert split_compound("tvangsarbeid", "nb") == ("tvang", "arbeid")
    assert "straf" in analyze("Freiheitsstrafe", "de")
    assert split_compound("freiheitsstrafe", "en") == ()


def test_glossary_expands_english_into_every_language():
    glossary = load_glossary(DEFAULT_GLOSSARY)
    e = expand("penalty for trafficking in persons", glossary)
    assert {"trafficking", "penalty"} <= set(e.concepts)
    assert "menschenhandel" in e.terms_in("de")
    assert "menneskehandel" in e.terms_in("nb")
    assert "människohandel" in e.terms_in("sv")
    assert "ihmiskauppa" in e.terms_in("fi")
    assert "mansal" in e.terms_in("is")
    assert expand("penalty", glossary, target_languages=("de",)).terms_in("sv") == ()


def test_countries_and_demonyms_are_understood():
    countries = load_countries(COUNTRIES)
    assert understand("German law on forced labour", countries).countries == ("DE",)
    assert understand("trafficking in Norway", countries).languages == ("nb",)
    assert understand("Latvian and Polish criminal law", countries).countries == ("LV", "PL")
    assert understand("forced labour", countries).countries == ()


def test_query_language_from_function_words():
    assert understand("Wann gelten Arbeitsbedingungen strafrechtlich als ausbeuterisch?", ()).language == "de"
    assert understand("Er det straffbart å betale en 16-åring for seksuelle handlinger?", ()).language == "nb"
    assert understand("Vilket brott gäller när en arbetsgivare utnyttjar någon?", ()).language == "sv"
    assert understand("What prison sentence applies to human trafficking in Sweden?", ()).language == "en"
    assert query_language(["menschenhandel", "strafe"]) == "en"  # keywords alone: no function words


def test_native_query_matches_the_glossary_in_its_own_language():
    glossary = load_glossary(DEFAULT_GLOSSARY)
    e = expand("Wann ist Zwangsarbeit strafbar?", glossary, source_languages=("de", "en"),
               target_languages=("de", "en", "sv"))
    assert "forced_labour" in e.concepts and "forced labour" in e.terms_in("en") and "tvångsarbete" in e.terms_in("sv")
    kept = without_query_terms(e, "Wann ist Zwangsarbeit strafbar?", languages=("de", "en"))
    assert "zwangsarbeit" not in kept.terms_in("de") and "tvångsarbete" in kept.terms_in("sv")
    assert without_query_terms(Expansion((), ()), "x", languages=("en",)) == Expansion((), ())


def _sections(searcher, query, k=3, **settings):
    old = searcher.settings
    searcher.settings = dataclasses.replace(old, **settings)
    try:
        return [h.section for h in searcher.search(query, top_k=k).hits]
    finally:
        searcher.settings = old


@pytest.mark.slow
def test_section_identifier_matches_lexically(searcher):
    assert any(s.startswith("StGB § 232a") for s in _sections(searcher, "§ 232a", k=5, fusion="lexical"))
    assert any(s.startswith("BrB 4 kap. 1 a §") for s in _sections(searcher, "4 kap. 1 a §", k=5, fusion="lexical"))
    assert any("Article 13" in s for s in _sections(searcher, "Article 13", k=5, fusion="lexical"))


@pytest.mark.slow
def test_english_query_reaches_german_stgb_232(searcher):
    assert any(s.startswith("StGB § 232 ") for s in _sections(searcher, "human trafficking penalty Germany"))


@pytest.mark.slow
def test_english_query_reaches_norwegian_straffeloven_257(searcher):
    assert any(s.startswith("straffeloven § 257") for s in _sections(searcher, "human trafficking Norway"))


@pytest.mark.slow
def test_english_query_reaches_swedish_brb_4_kap_1a(searcher):
    sections = _sections(searcher, "penalty for human trafficking under Swedish law", k=5)
    assert any(s.startswith("BrB 4 kap. 1 a §") for s in sections)


@pytest.mark.slow
def test_without_glossary_english_query_misses_straffeloven(searcher):
    sections = _sections(searcher, "human trafficking", k=3, use_glossary=False, country_boost=0.0)
    assert not any(s.startswith("straffeloven § 257") for s in sections)


@pytest.mark.slow
def test_exact_section_lookup_ranks_the_section_itself_first(searcher):
    """Chunks citing § 232a must not outrank § 232a (section-label boost, search/engine.py)."""
    assert _sections(searcher, "§ 232a", k=1)[0].startswith("StGB § 232a")
    assert _sections(searcher, "4 kap. 1 a §", k=1)[0].startswith("BrB 4 kap. 1 a §")


def test_comparative_questions_are_recognised():
    countries = load_countries(COUNTRIES)
    assert understand("Compare penalties across member states", countries).comparative
    assert understand("trafficking law in Germany and Sweden", countries).comparative
    assert understand("public contracts in strategy and legislation", countries).comparative
    assert not understand("What prison sentence applies to human trafficking in Sweden?", countries).comparative


def test_glossary_covers_registration_and_jurisdiction_abroad():
    glossary = load_glossary(DEFAULT_GLOSSARY)
    assert "anmeldung" in expand("sex worker who comes to register", glossary).terms_in("de")
    assert "suomen ulkopuolella" in expand("trafficking committed outside Finland", glossary).terms_in("fi")


@pytest.mark.slow
def test_a_short_provision_is_one_hit_with_its_whole_text(searcher):
    """straffeloven § 257 (human trafficking) is three chunks that do not overlap: the offence, the
    penalty, the definitions. Its hit is the whole section, once, and the exact text of its document."""
    import dataclasses

    from search.passages import MAX_MERGED_CHARS

    def section_hits(provision_hits: bool):
        old = searcher.tuning
        searcher.tuning = dataclasses.replace(old, provision_hits=provision_hits)
        try:
            hits = searcher.search("human trafficking Norway", top_k=10).hits
        finally:
            searcher.tuning = old
        return [h for h in hits if h.section.startswith("straffeloven § 257")]

    hits = section_hits(True)
    assert len(hits) == 1, [h.section for h in hits]
    hit = hits[0]
    start, end, n = searcher.conn.execute(
        'SELECT MIN(start), MAX("end"), COUNT(*) FROM chunks WHERE doc_id = ? AND section = ?',
        (hit.doc_id, hit.section)).fetchone()
    assert n == 3 and (hit.start, hit.end) == (start, end) and end - start <= MAX_MERGED_CHARS
    document = searcher.conn.execute("SELECT text FROM documents WHERE doc_id = ?", (hit.doc_id,)).fetchone()[0]
    assert hit.text == document[start:end]
    assert hit.highlights and all(hit.text[h.start:h.end] == h.text for h in hit.highlights)
    # Without the feature a hit is a chunk, or overlapping chunks joined: part of the section.
    assert all(h.end - h.start < end - start for h in section_hits(False))


@pytest.mark.slow
def test_every_hit_is_the_exact_text_of_its_document(searcher):
    """Traceability: a hit's text is its document's text between the hit's offsets, whether it is
    one chunk, overlapping chunks joined, or a whole short provision; long sections stay chunks."""
    from search.passages import MAX_MERGED_CHARS

    for query in ("penalty for human trafficking", "forced labour in supply chains", "Article 13",
                  "public procurement and forced labour"):
        for hit in searcher.search(query, top_k=10).hits:
            document = searcher.conn.execute("SELECT text FROM documents WHERE doc_id = ?", (hit.doc_id,)).fetchone()[0]
            assert hit.text == document[hit.start:hit.end], (query, hit.section)
            assert len(hit.text) <= MAX_MERGED_CHARS, (query, hit.section)

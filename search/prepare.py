"""Query preparation: what a question asks, in which words, before anything is retrieved.

Pure functions of the query, the glossary and the index's languages; the searcher calls them in
order (`prepare`) and hands the result to retrieval.
"""
from __future__ import annotations

from dataclasses import dataclass

from index.terms import analyze, identifier_terms, tokenize
from search.glossary import Expansion, Glossary, expand
from search.query import Country, QueryIntent, understand


@dataclass(frozen=True, slots=True)
class Prepared:
    """A query understood and expanded: its intent, glossary expansion, lexical term groups and
    the text its dense side embeds."""

    query: str
    intent: QueryIntent
    expansion: Expansion
    term_groups: tuple[tuple[float, tuple[str, ...]], ...]  # (weight, phrases) of its lexical searches
    dense_text: str
    identifiers: tuple[str, ...]


# Glossary terms count as much as the query's own words (weighed 0.5 and 1.0 on dev; 1.0 won on
# cross_lingual): a bm25 sum over the original terms plus this weight times the sum over the
# expansion terms.
EXPANSION_WEIGHT = 1.0
# English glossary terms (a non-English question's concepts, searched in English documents) count
# half. Adding an English question's own synonyms was measured too (0.2-1.0 on dev): mixed at
# best, broad synonyms pulled in other passages, so English questions are not expanded in English.
ENGLISH_EXPANSION_WEIGHT = 0.5
# Identifier terms (p232a, art13, kap4p1a; index/terms.py) count this many times over.
IDENTIFIER_WEIGHT = 3.0


def prepare(query: str, *, countries: tuple[Country, ...], glossary: Glossary | None,
            languages: tuple[str, ...], native_expansion: bool, dense_glossary: bool) -> Prepared:
    """Understand `query`, expand it through `glossary` (None: no expansion) into the index's
    `languages`, and build its lexical term groups and dense text."""
    intent = understand(query, countries)
    expansion = expansion_for(query, intent, glossary, languages, native_expansion=native_expansion)
    groups = term_groups(query, query_terms(query, languages), expansion)
    text = dense_text(query, intent, expansion, glossary) if dense_glossary else query
    return Prepared(query, intent, expansion, groups, text, tuple(identifier_terms(query)))


def expansion_for(query: str, intent: QueryIntent, glossary: Glossary | None, languages: tuple[str, ...], *,
                  native_expansion: bool) -> Expansion:
    """Glossary terms for the query's concepts, in the named countries' languages if any, else all.

    A non-English question (with `native_expansion`) finds its concepts through its own legal terms
    too, and is expanded into the other languages and English. Measured on dev: national law in
    its own language .337 -> .485, all .472 -> .487, other kinds unchanged.
    """
    if glossary is None:
        return Expansion(concepts=(), terms=())
    targets = tuple(lang for lang in (intent.languages or languages) if lang != "en")
    sources: tuple[str, ...] = ("en",)
    if native_expansion and intent.language != "en":
        sources = (intent.language, "en")
        targets = tuple(dict.fromkeys((intent.language,) + targets + ("en",)))
    expansion = expand(query, glossary, source_languages=sources, target_languages=targets)
    return without_query_terms(expansion, query, languages=sources)


def without_query_terms(expansion: Expansion, query: str, *, languages: tuple[str, ...]) -> Expansion:
    """Drop expansion terms in `languages` (the query's own) that the query already holds: its own
    words count once already."""
    kept = []
    for lang, terms in expansion.terms:
        if lang not in languages:
            kept.append((lang, terms))
            continue
        have = " " + " ".join(analyze(query, lang, compounds=False, identifiers=False)) + " "
        rest = tuple(t for t in terms
                     if " " + " ".join(analyze(t, lang, compounds=False, identifiers=False)) + " " not in have)
        if rest:
            kept.append((lang, rest))
    return Expansion(concepts=expansion.concepts, terms=tuple(kept))


def query_terms(query: str, languages: tuple[str, ...]) -> list[str]:
    """The query's own terms: its words stemmed in English and each indexed language."""
    tokens = tokenize(query)
    terms: list[str] = []
    for language in ("en",) + tuple(lang for lang in languages if lang != "en"):
        for term in analyze(" ".join(tokens), language, identifiers=False):
            if term not in terms:
                terms.append(term)
    return terms


def term_groups(query: str, terms: list[str], expansion: Expansion) -> tuple[tuple[float, tuple[str, ...]], ...]:
    """The query's lexical searches as (weight, phrases): bm25 over its terms, IDENTIFIER_WEIGHT x
    over its identifiers ("§ 232a", "Article 13": an exact lookup outweighs the words around it),
    and EXPANSION_WEIGHT x over the glossary phrases (ENGLISH_EXPANSION_WEIGHT x over English ones)."""
    groups: list[tuple[float, tuple[str, ...]]] = []
    if terms:
        groups.append((1.0, tuple(terms)))
    ids = identifier_terms(query)
    if ids:
        groups.append((IDENTIFIER_WEIGHT, tuple(ids)))
    by_weight: dict[float, list[str]] = {}
    for lang, ts in expansion.terms:
        phrases = by_weight.setdefault(ENGLISH_EXPANSION_WEIGHT if lang == "en" else EXPANSION_WEIGHT, [])
        for t in ts:
            words = analyze(t, lang, compounds=False, identifiers=False)
            if words and " ".join(words) not in phrases:
                phrases.append(" ".join(words))
    groups.extend((weight, tuple(phrases)) for weight, phrases in by_weight.items() if phrases and weight)
    return tuple(groups)


def dense_text(query: str, intent: QueryIntent, expansion: Expansion, glossary: Glossary | None) -> str:
    """The text to embed: a non-English query gets its concepts' English glossary terms appended,
    since MiniLM reads English far better than German or Norwegian legal wording."""
    if glossary is None or intent.language == "en" or expansion.empty:
        return query
    wanted = set(expansion.concepts)
    english = [c.terms_in("en")[0] for c in glossary.concepts if c.id in wanted and c.terms_in("en")]
    return f"{query} ({', '.join(english)})" if english else query


def highlight_terms(query: str, expansion: Expansion, language: str) -> set[str]:
    """Terms a sentence in `language` should contain: the query's own, plus its glossary terms there."""
    terms = set(analyze(query, language))
    for t in expansion.terms_in(language):
        terms.update(analyze(t, language, compounds=False, identifiers=False))
    return terms

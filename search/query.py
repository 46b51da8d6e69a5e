"""Query understanding: which countries a query names, from a small table of names and demonyms.

The table is data (corpus/glossary/countries.toml): per country its manifest code, the languages
of its legislation and its names, demonyms and adjectives in English and its own language.
"""
from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from index.terms import tokenize


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    languages: tuple[str, ...]
    names: tuple[tuple[str, ...], ...]  # token sequences


@dataclass(frozen=True, slots=True)
class QueryIntent:
    """What a query says beyond its words: the countries it names and their languages."""

    countries: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    comparative: bool = False  # asks across countries or sources: the hits should come from several


# Cues that a question wants answers from several countries or sources, not the one best document.
COMPARATIVE_RE = re.compile(
    r"\b(compar\w*|across|differ\w*|versus|vs|each country|member states|(?:nordic|baltic)(?: sea)? "
    r"countries|(?:several|different|other|various) (?:countries|states|jurisdictions)|examples)\b")
# A question that names two or more kinds of source ("in strategy and legislation", "from the
# strategy, UNODC data and the protocol") wants one answer from each.
SOURCE_KINDS = (
    frozenset({"strategy", "strategic", "plan", "policy"}),
    frozenset({"convention", "conventions", "protocol", "protocols", "treaty", "treaties", "directive"}),
    frozenset({"law", "laws", "legislation", "act", "code", "statute", "statutes"}),
    frozenset({"report", "reports", "data", "survey", "statistics", "study"}),
)


@functools.lru_cache(maxsize=4)
def load_countries(path: Path) -> tuple[Country, ...]:
    """Read the country table once per path; a missing file names no countries."""
    path = Path(path)
    if not path.is_file():
        return ()
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return tuple(Country(code=c["code"].upper(), languages=tuple(c.get("languages", ())),
                         names=tuple(tuple(tokenize(n)) for n in c.get("names", ()) if tokenize(n)))
                 for c in data.get("countries", ()))


def understand(query: str, countries: tuple[Country, ...]) -> QueryIntent:
    """The countries (codes, in table order) and their languages that the query names."""
    tokens = tuple(tokenize(query))
    codes, languages = [], []
    for country in countries:
        if any(tokens[i:i + len(n)] == n for n in country.names for i in range(len(tokens) - len(n) + 1)):
            codes.append(country.code)
            languages.extend(lang for lang in country.languages if lang not in languages)
    kinds = sum(1 for words in SOURCE_KINDS if words & set(tokens))
    comparative = len(codes) >= 2 or kinds >= 2 or bool(COMPARATIVE_RE.search(" ".join(tokens)))
    return QueryIntent(countries=tuple(codes), languages=tuple(languages), comparative=comparative)

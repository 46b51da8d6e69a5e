"""Query understanding: which countries a query names, from a small table of names and demonyms.

The table is data (corpus/glossary/countries.toml): per country its manifest code, the languages
of its legislation and its names, demonyms and adjectives in English and its own language.
"""
from __future__ import annotations

import functools
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
    return QueryIntent(countries=tuple(codes), languages=tuple(languages))

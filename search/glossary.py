"""Glossary expansion: the legal terms of other languages for the concepts a query names.

The glossary (corpus/glossary/thb-glossary.toml) lists 68 anti-trafficking and criminal-law
concepts in 11 languages. A query phrase matches a concept when the stems of one of the
concept's terms occur contiguously in the query's stems (stemmed in the term's own language, so
"trafficked" matches "trafficking" and "Menschenhandels" matches "Menschenhandel"). `expand`
then returns every term of the matched concepts per language, to search those languages'
documents on the lexical side. Pure: the glossary is passed in, nothing is read.
"""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from index.terms import stem_tokens, tokenize


@dataclass(frozen=True, slots=True)
class Concept:
    """One concept: its terms per language, and their stems for matching."""

    id: str
    terms: tuple[tuple[str, tuple[str, ...]], ...]          # (language, terms)
    stems: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]  # (language, stem sequences)

    def terms_in(self, language: str) -> tuple[str, ...]:
        return next((t for lang, t in self.terms if lang == language), ())


@dataclass(frozen=True, slots=True)
class Glossary:
    languages: tuple[str, ...]
    concepts: tuple[Concept, ...]


@dataclass(frozen=True, slots=True)
class Expansion:
    """Matched concept ids, and the terms per language to add to the lexical query."""

    concepts: tuple[str, ...]
    terms: tuple[tuple[str, tuple[str, ...]], ...]  # (language, terms), glossary order

    def terms_in(self, language: str) -> tuple[str, ...]:
        return next((t for lang, t in self.terms if lang == language), ())

    @property
    def empty(self) -> bool:
        return not self.concepts


@functools.lru_cache(maxsize=4)
def load_glossary(path: Path) -> Glossary:
    """Read the glossary TOML once per path; a missing file is an empty glossary."""
    path = Path(path)
    if not path.is_file():
        return Glossary(languages=(), concepts=())
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    languages = tuple(data.get("languages", ()))
    concepts = []
    for entry in data.get("concepts", ()):
        terms = tuple((lang, tuple(t.lower() for t in entry.get(lang, ()))) for lang in languages if entry.get(lang))
        stems = tuple((lang, tuple(tuple(stem_tokens(tokenize(t), lang)) for t in ts)) for lang, ts in terms)
        concepts.append(Concept(id=entry["id"], terms=terms, stems=stems))
    return Glossary(languages=languages, concepts=tuple(concepts))


def _contains(seq: tuple[str, ...], sub: tuple[str, ...]) -> bool:
    n = len(sub)
    return n > 0 and any(seq[i:i + n] == sub for i in range(len(seq) - n + 1))


def matched_concepts(query: str, glossary: Glossary, *, source_languages: tuple[str, ...] = ("en",)) -> tuple[Concept, ...]:
    """Concepts one of whose terms (in a source language) occurs in the query."""
    tokens = tokenize(query)
    query_stems = {lang: tuple(stem_tokens(tokens, lang)) for lang in source_languages}
    by_first = _by_first_stem(glossary)
    found = set()
    for lang, stems in query_stems.items():
        for first in set(stems):
            for index, seq in by_first.get((lang, first), ()):
                if index not in found and _contains(stems, seq):
                    found.add(index)
    return tuple(glossary.concepts[i] for i in sorted(found))


_FIRST_STEMS: dict[int, tuple] = {}


def _by_first_stem(glossary: Glossary) -> dict:
    """{(language, first stem): [(concept index, stem sequence)]}, built once per glossary."""
    cached = _FIRST_STEMS.get(id(glossary))
    if cached is None or cached[0] is not glossary:
        index: dict = {}
        for i, concept in enumerate(glossary.concepts):
            for lang, seqs in concept.stems:
                for seq in seqs:
                    if seq:
                        index.setdefault((lang, seq[0]), []).append((i, seq))
        cached = _FIRST_STEMS[id(glossary)] = (glossary, index)
    return cached[1]


def expand(query: str, glossary: Glossary, *, source_languages: tuple[str, ...] = ("en",),
           target_languages: tuple[str, ...] | None = None) -> Expansion:
    """Terms per target language for the concepts the query names (all glossary languages by default)."""
    concepts = matched_concepts(query, glossary, source_languages=source_languages)
    targets = glossary.languages if target_languages is None else target_languages
    terms = []
    for lang in targets:
        seen: list[str] = []
        for concept in concepts:
            for t in concept.terms_in(lang):
                if t not in seen:
                    seen.append(t)
        if seen:
            terms.append((lang, tuple(seen)))
    return Expansion(concepts=tuple(c.id for c in concepts), terms=tuple(terms))

"""Comparative questions: a question that names several sources gets each one's best passage.

A source is a country the query names (search/query.py understand()) or an international
instrument it names (corpus/glossary/instruments.toml: names and aliases, and the documents each
is). When a question names two or more, the searcher runs one sub-search per source, restricted to
that source's chunks, and `merge` makes room in the top k for the best passage of every named
source the main search left out, in place of its lowest-ranked hits.
"""
from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from search.hits import Hit
from search.query import Country, QueryIntent, understand

INSTRUMENTS_FILE = "instruments.toml"  # beside the glossary (corpus/glossary/)


@dataclass(frozen=True, slots=True)
class Instrument:
    name: str
    paths: tuple[str, ...]
    pattern: re.Pattern


@dataclass(frozen=True, slots=True)
class Source:
    """A source a question names: a country (its code) or an instrument (its documents)."""

    label: str
    country: str = ""
    doc_ids: frozenset[str] = frozenset()

    def holds(self, hit: Hit) -> bool:
        return hit.doc_id in self.doc_ids if self.doc_ids else (hit.country or "").upper() == self.country


@functools.lru_cache(maxsize=4)
def load_instruments(path: Path) -> tuple[Instrument, ...]:
    """The instrument table; a missing file names none."""
    if not path.is_file():
        return ()
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return tuple(Instrument(row["name"], tuple(row["paths"]),
                            re.compile(r"\b(?:" + "|".join(row["aliases"]) + r")\b", re.IGNORECASE))
                 for row in data.get("instruments", ()))


def named_sources(query: str, countries: tuple[str, ...], instruments: tuple[Instrument, ...],
                  doc_paths: Mapping[str, str], documents: Mapping[str, frozenset[str]] | None = None) -> list[Source]:
    """The sources the query names, countries first, then instruments in table order; only those
    the index holds documents of ({doc_id: doc_path}; `documents`: `instrument_documents` of them,
    when the caller keeps it)."""
    out = [Source(code, country=code) for code in countries]
    for instrument in instruments:
        if instrument.pattern.search(query):
            ids = (documents[instrument.name] if documents is not None and instrument.name in documents
                   else instrument_documents((instrument,), doc_paths)[instrument.name])
            if ids:
                out.append(Source(instrument.name, doc_ids=ids))
    return out


def instrument_documents(instruments: tuple[Instrument, ...], doc_paths: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """{instrument name: the doc_ids of its documents} (a pass over every document path: the
    searcher keeps it per index generation)."""
    return {i.name: frozenset(d for d, p in doc_paths.items() if any(p.endswith(end) for end in i.paths))
            for i in instruments}


def single_instrument(query: str, instruments: tuple[Instrument, ...]) -> Instrument | None:
    """The instrument a question names, when it names exactly one."""
    named = [i for i in instruments if i.pattern.search(query)]
    return named[0] if len(named) == 1 else None


def one_source_instrument(query: str, instruments: tuple[Instrument, ...], countries: tuple[Country, ...],
                          intent: QueryIntent | None = None) -> Instrument | None:
    """The one instrument a question on a single source names: no country, not comparative (a
    question naming several sources gets each its place from sub-searches). `intent`: the query's,
    when the caller has it."""
    if not any(i.pattern.search(query) for i in instruments):
        return None
    intent = intent or understand(query, countries)
    return None if intent.countries or intent.comparative else single_instrument(query, instruments)


# A question keeps the instrument's name when what is left would say little: "What does the
# Palermo Protocol say?" asks about the instrument itself.
MIN_WORDS_LEFT = 3


def without_name(query: str, instrument: Instrument) -> str | None:
    """The question with the instrument's name taken out ("Under the Council of Europe convention,
    can support ..." -> "Under the , can support ..."), or None when fewer than MIN_WORDS_LEFT words
    of four letters or more would be left. Searched by its name, a question about what one
    article says finds the instrument's title and preamble, which repeat the name, first."""
    rest = " ".join(instrument.pattern.sub(" ", query).split())  # the searcher's retrieval text
    if sum(1 for w in re.findall(r"\w+", rest) if len(w) >= 4) < MIN_WORDS_LEFT:
        return None
    return rest


def merge(hits: tuple[Hit, ...], extra: list[tuple[Source, tuple[Hit, ...]]], top_k: int) -> tuple[Hit, ...]:
    """The main hits, with the best passage of each source they lack (from its own sub-search, the
    most confident of its top 3) taking the place of the lowest-ranked hits of sources already shown; ranks renumbered."""
    kept = list(hits[:top_k])
    missing = []
    for source, sub in extra:
        if any(source.holds(h) for h in kept) or not sub:
            continue
        shown = {k.chunk_id for k in kept + missing}
        fresh = [h for h in sub if h.chunk_id not in shown]
        if fresh:  # its most confident passage (the learned ranker's probability), else its first
            missing.append(max(fresh, key=lambda h: (h.confidence or 0.0, -h.rank)))
    if not missing:
        return tuple(kept)
    protected = {id(h) for source, _sub in extra for h in kept[:1] + [next((k for k in kept if source.holds(k)), None)]
                 if h is not None}
    while kept and len(kept) + len(missing) > top_k:
        drop = next((i for i in range(len(kept) - 1, -1, -1) if id(kept[i]) not in protected), len(kept) - 1)
        kept.pop(drop)
    return tuple(dataclasses.replace(h, rank=r) for r, h in enumerate(kept + missing, start=1))

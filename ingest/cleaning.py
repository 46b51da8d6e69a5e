"""Clean extracted text: hyphenation, running headers and footers, bullets, whitespace."""
from __future__ import annotations

import re
from collections import Counter

# Private-use and control characters that PDF extractors emit for list bullets
# (Symbol/Wingdings glyphs U+F0B7, U+F0A7, U+F076, U+F0D8; cp1252 0x95 decoded as U+0095).
BULLET_CHARS = "\uf0b7\uf0a7\uf076\uf0d8\uf0fc\uf06e\uf0a8\u0095\u2023\u2043\u25aa\u25cf\u25e6\u2219\u00b7"
_BULLET_RE = re.compile(rf"^[ \t]*[{BULLET_CHARS}][ \t]*", re.MULTILINE)
_HYPHEN_RE = re.compile(r"(?<=[^\W\d_])[-\u00ad][ \t]*\n[ \t]*(?=[a-zäöüßåæøéèáóúíčšžāēīūļķņģõ])")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_DIGITS_RE = re.compile(r"\d+")
# A line-end hyphen set off by a space ("traf -\nficking", "con -\nducted": UNODC GLOTIP 2024) is
# hyphenation when the joined word occurs elsewhere in the document or the left part is no word
# of its own there ("subre -\ngional"); otherwise ("Crime -\nassociation") it is a dash.
_SPACED_HYPHEN_RE = re.compile(r"\b(?P<left>[^\W\d_]{2,})[ \t]+-[ \t]*\n[ \t]*(?P<right>[a-zäöüßåæøéèáóúíčšžāēīūļķņģõ]+)")
_WORD_RE = re.compile(r"[^\W\d_]{3,}")
# Markdown and inline HTML that text files carry into passages (the 2012-2014 strategic plan:
# "### **Strategic plan 2012-2014<sup>1</sup>**"). Headings stay lines of their own, which the
# structure finder reads as headings when they stand alone.
_MD_HEADING_RE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$", re.MULTILINE)
_MD_EMPHASIS_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_SUP_RE = re.compile(r"<sup>\s*([^<]{0,12}?)\s*</sup>", re.IGNORECASE)
_INLINE_TAG_RE = re.compile(r"</?(?:sup|sub|b|i|em|strong|u|span|br)\b[^>]*>", re.IGNORECASE)
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def clean_pages(pages: tuple[str, ...], *, paged: bool) -> tuple[str, ...]:
    """Clean each page; on paged documents, also drop lines repeated as header or footer.
    Text files lose their Markdown markup (headings, bold, <sup> footnote marks)."""
    if not paged:
        pages = tuple(strip_markup(p) for p in pages)
    vocabulary = {w.lower() for p in pages for w in _WORD_RE.findall(_SPACED_HYPHEN_RE.sub(" ", p))}
    pages = tuple(_clean_text(p, vocabulary) for p in pages)
    if paged and len(pages) >= 3:
        pages = drop_running_lines(pages)
    return tuple(_squeeze_blank_lines(p) for p in pages)


def strip_markup(text: str) -> str:
    """Markdown headings and bold/underline emphasis as plain text; <sup>1</sup> as a superscript ¹."""
    text = _MD_HEADING_RE.sub(lambda m: m.group(1), text)
    text = _MD_EMPHASIS_RE.sub(lambda m: m.group(2), text)
    text = _SUP_RE.sub(lambda m: m.group(1).translate(_SUPERSCRIPTS) if m.group(1).isdigit() else m.group(1), text)
    return _INLINE_TAG_RE.sub("", text)


def _join_spaced_hyphen(match: re.Match, vocabulary: set[str]) -> str:
    left, joined = match.group("left"), match.group("left") + match.group("right")
    is_word = left.lower() in vocabulary or len(left) > 12
    return joined if joined.lower() in vocabulary or not is_word else match.group(0)


def _clean_text(text: str, vocabulary: set[str] = frozenset()) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = _BULLET_RE.sub("• ", text)
    text = text.replace("\u00ad\n", "").replace("\u00ad", "")
    text = _CONTROL_RE.sub(" ", text)
    text = _HYPHEN_RE.sub("", text)
    text = _SPACED_HYPHEN_RE.sub(lambda m: _join_spaced_hyphen(m, vocabulary), text)
    text = _SPACES_RE.sub(" ", text)
    return "\n".join(line.strip() for line in text.split("\n"))


def _squeeze_blank_lines(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _line_key(line: str) -> str:
    """Lines that differ only in numbers (page numbers, dates) count as the same running line."""
    return _DIGITS_RE.sub("#", line.strip().lower())


def drop_running_lines(pages: tuple[str, ...], *, edge_lines: int = 2, share: float = 0.5) -> tuple[str, ...]:
    """Remove lines near the top or bottom of a page that repeat on most pages."""
    counts: Counter[str] = Counter()
    for page in pages:
        lines = [ln for ln in page.split("\n") if ln.strip()]
        edge = set(lines[:edge_lines] + lines[-edge_lines:])
        counts.update({_line_key(ln) for ln in edge})
    need = max(3, int(share * len(pages)))
    running = {key for key, n in counts.items() if n >= need and key and len(key) < 200}
    running.discard("#")  # keep bare page numbers check below
    cleaned = []
    for page in pages:
        lines = page.split("\n")
        nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
        edge_idx = set(nonblank[:edge_lines] + nonblank[-edge_lines:])
        kept = [ln for i, ln in enumerate(lines)
                if not (i in edge_idx and (_line_key(ln) in running or _is_page_number(ln)))]
        cleaned.append("\n".join(kept))
    return tuple(cleaned)


def _is_page_number(line: str) -> bool:
    return bool(re.fullmatch(r"\s*(page\s+)?\d{1,4}(\s*(/|of)\s*\d{1,4})?\s*", line, re.IGNORECASE))


def join_pages(pages: tuple[str, ...]) -> tuple[str, tuple[int, ...]]:
    """Join pages with a blank line; return the text and the offset where each page starts."""
    starts, parts, offset = [], [], 0
    for page in pages:
        starts.append(offset)
        parts.append(page)
        offset += len(page) + 2
    return "\n\n".join(parts), tuple(starts)

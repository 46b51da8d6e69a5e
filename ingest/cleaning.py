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


def clean_pages(pages: tuple[str, ...], *, paged: bool) -> tuple[str, ...]:
    """Clean each page; on paged documents, also drop lines repeated as header or footer."""
    pages = tuple(_clean_text(p) for p in pages)
    if paged and len(pages) >= 3:
        pages = drop_running_lines(pages)
    return tuple(_squeeze_blank_lines(p) for p in pages)


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = _BULLET_RE.sub("• ", text)
    text = text.replace("\u00ad\n", "").replace("\u00ad", "")
    text = _CONTROL_RE.sub(" ", text)
    text = _HYPHEN_RE.sub("", text)
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

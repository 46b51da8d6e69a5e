"""Lexical terms for the FTS5 table: words folded to lower case and stemmed per language.

Snowball stemmers (PyStemmer) cover en, de, sv, nb, da, fi, et, lt and more. Polish, Latvian and
Icelandic have no Snowball stemmer; for them a word is cut to its first six letters, which
catches most inflection in those languages at the cost of a few false matches.

Two kinds of extra term make legal text findable:
- identifier terms: "§ 232a" and "232a §" -> `p232a`, "Article 13" / "Art. 13" / "13 artikla" ->
  `art13`, "154.2 pants" -> `art154x2`, "4 kap." / "chapter 4" / "17 luku" -> `kap4`, and a chapter
  with its section "4 kap. 1 a §" -> `kap4p1a`. Letters and digits only, so FTS5's unicode61
  tokenizer keeps each one whole. Queries get the same terms, so "§ 232a" matches exactly.
- compound parts (de, sv, nb, da): a long word that ends in a known head noun ("freiheitsstrafe",
  "tvangsarbeid") also yields the head's stem and the modifier's stem, so "Strafe" finds
  "Freiheitsstrafe". Heads are data: corpus/glossary/compound-heads.toml.
"""
from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from pathlib import Path

SNOWBALL = {
    "en": "english", "de": "german", "sv": "swedish", "nb": "norwegian", "nn": "norwegian",
    "no": "norwegian", "da": "danish", "fi": "finnish", "et": "estonian", "lt": "lithuanian",
    "nl": "dutch", "fr": "french", "es": "spanish", "it": "italian", "pt": "portuguese",
    "ru": "russian", "hu": "hungarian",
}
PREFIX_LANGUAGES = {"pl", "lv", "is"}
PREFIX_CHARS = 6
# Identifiers such as 232a, 189a, 154.1 stay whole; words are runs of letters.
TOKEN_RE = re.compile(r"\d+(?:\.\d+)*[a-z]?\b|[^\W\d_]+", re.UNICODE)

COMPOUND_HEADS = Path(__file__).resolve().parent.parent / "corpus" / "glossary" / "compound-heads.toml"
COMPOUND_LANGUAGES = {"de", "sv", "nb", "nn", "no", "da"}
MIN_COMPOUND_CHARS = 9   # shorter words are rarely compounds worth splitting
MIN_PART_CHARS = 4       # each part must be a word in its own right
LINKING = ("s", "e", "n", "es", "en")  # Fugenelemente / linking letters between the parts

_NUM = r"(\d+(?:\.\d+)?)\s?([a-z](?![^\W\d_]))?"  # 232a, 1 a, 154.2 (not the first letter of a word)
_ID_PATTERNS = (
    # chapter + section: "4 kap. 1 a §", "25 luku 3 §"
    ("kapp", re.compile(r"\b(\d+)\s?(?:kap\.?|kapitel|luku)\s+(\d+)\s?([a-z](?![^\W\d_]))?\s?§")),
    ("p", re.compile(r"§§?\s?" + _NUM)),
    ("p_after", re.compile(r"\b" + _NUM + r"\s?§")),  # Swedish/Finnish "1 a §"
    ("art", re.compile(r"\b(?:article|articles|art\.?|artikel|artikkel|artykuł|artykułu)\s?" + _NUM)),
    ("art", re.compile(r"\b(\d+(?:\.\d+)?)\.?\s?(?:artikla|pants|panta|straipsnis|gr\.|grein)(?:\s([a-z])\b)?")),
    ("kap", re.compile(r"\b(?:chapter|kapitel|kapittel|kapitlet)\s(\d+)()")),
    ("kap", re.compile(r"\b(\d+)\.?\s?(?:kap\.|kap\b|kapitel|luku|nodaļa|kafli)()")),
)


@functools.lru_cache(maxsize=32)
def _stemmer(language: str):
    import Stemmer

    name = SNOWBALL.get(language)
    return Stemmer.Stemmer(name) if name else None


@functools.lru_cache(maxsize=1)
def compound_heads() -> dict[str, tuple[str, ...]]:
    """Head nouns per language, longest first (corpus/glossary/compound-heads.toml)."""
    if not COMPOUND_HEADS.is_file():
        return {}
    with COMPOUND_HEADS.open("rb") as fh:
        data = tomllib.load(fh)
    heads = {lang: tuple(sorted({h.lower() for h in words}, key=len, reverse=True))
             for lang, words in data.get("heads", {}).items()}
    for alias, lang in (("nn", "nb"), ("no", "nb")):
        heads.setdefault(alias, heads.get(lang, ()))
    return heads


def tokenize(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    return TOKEN_RE.findall(text)


@functools.lru_cache(maxsize=16384)
def sentence_tokens(sentence: str) -> tuple[str, ...]:
    """`tokenize` of one sentence of a hit, kept: a search reads each shown sentence twice (its
    confidence features, its highlight), and the hits of one corpus recur search after search."""
    return tuple(tokenize(sentence))


NUMBER_BEFORE_SECTION = {"sv", "fi", "et"}  # "1 a §": elsewhere "Art. 189a § 1" means paragraph 1


def identifier_terms(text: str, language: str = "") -> list[str]:
    """Normalised legal identifiers in a text: p232a, art13, art154x2, kap4, kap4p1a.

    `language` "" (a query, language unknown) applies every pattern.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    # "Art. 189a § 1": a § right after an article is one of its paragraphs (Polish, Danish), not a section.
    article_ends = {m.end() for kind, pattern in _ID_PATTERNS if kind == "art" for m in pattern.finditer(text)}
    for kind, pattern in _ID_PATTERNS:
        if kind == "p_after":
            if language and language not in NUMBER_BEFORE_SECTION:
                continue
            kind = "p"
        for m in pattern.finditer(text):
            if kind == "p" and any(0 <= m.start() - end <= 4 and not text[end:m.start()].strip(" .\n")
                                   for end in article_ends):
                continue
            if kind == "kapp":
                term = f"kap{m.group(1)}p{m.group(2)}{m.group(3) or ''}"
            else:
                term = kind + m.group(1).replace(".", "x") + (m.group(2) or "")
            if term not in out:
                out.append(term)
    return out


@functools.lru_cache(maxsize=65536)  # words repeat: highlighting splits the same ones query after query
def split_compound(word: str, language: str) -> tuple[str, ...]:
    """(modifier, head) of a compound that ends in a known head noun, else ()."""
    if language not in COMPOUND_LANGUAGES or len(word) < MIN_COMPOUND_CHARS:
        return ()
    for head in compound_heads().get(language, ()):
        if word.endswith(head) and len(word) - len(head) >= MIN_PART_CHARS:
            modifier = word[: len(word) - len(head)]
            for link in LINKING:
                if modifier.endswith(link) and len(modifier) - len(link) >= MIN_PART_CHARS:
                    modifier = modifier[: -len(link)]
                    break
            return (modifier, head)
    return ()


def stem_tokens(tokens: list[str], language: str) -> list[str]:
    """Stems of tokens in one language; numbers and identifiers pass unchanged."""
    stemmer = _stemmer(language)
    if stemmer is not None:  # one call into the C stemmer for the whole list
        words = [t for t in tokens if not t[0].isdigit()]
        stems = iter(stemmer.stemWords(words))
        return [t if t[0].isdigit() else next(stems) for t in tokens]
    if language in PREFIX_LANGUAGES:
        return [t if t[0].isdigit() else t[:PREFIX_CHARS] for t in tokens]
    return list(tokens)


def analyze(text: str, language: str, *, compounds: bool = True, identifiers: bool = True) -> list[str]:
    """Terms of a text in its language, as stored in and searched against the FTS5 table.

    The stems come first in text order (so phrase queries work); compound parts and identifier
    terms follow at the end.
    """
    language = language or "en"
    tokens = tokenize(text)
    terms = stem_tokens(tokens, language)
    if compounds and language in COMPOUND_LANGUAGES:
        for token in tokens:
            parts = split_compound(token, language)
            if parts:
                terms.extend(stem_tokens(list(parts), language))
    if identifiers:
        terms.extend(identifier_terms(text, language))
    return terms


def matched_terms(wanted: set[str], text: str, spans, language: str, *, identifiers: bool = True) -> list[set[str]]:
    """For each (start, end) span of `text`, the terms of `wanted` among
    `analyze(text[start:end], language, identifiers=identifiers)`: the same sets, with each
    distinct word of the text analysed once instead of once a sentence (highlighting ten hits
    analysed some 4,000 words a query, one Python step each)."""
    language = language or "en"
    sentences = [sentence_tokens(text[s:e]) for s, e in spans]
    if not wanted:
        return [set() for _ in sentences]
    words = list({t for tokens in sentences for t in tokens})
    stems = stem_tokens(words, language) if words else []
    found = {w: {stem} for w, stem in zip(words, stems) if stem in wanted}
    if language in COMPOUND_LANGUAGES:
        for w in words:
            parts = split_compound(w, language)
            if parts:
                hits = wanted.intersection(stem_tokens(list(parts), language))
                if hits:
                    found.setdefault(w, set()).update(hits)
    out = []
    for (s, e), tokens in zip(spans, sentences):
        matched: set[str] = set()
        for t in tokens:
            if t in found:
                matched |= found[t]
        if identifiers:
            matched.update(t for t in identifier_terms(text[s:e], language) if t in wanted)
        out.append(matched)
    return out

"""Lexical terms for the FTS5 table: words folded to lower case and stemmed per language.

Snowball stemmers (PyStemmer) cover en, de, sv, nb, da, fi, et, lt and more. Polish, Latvian and
Icelandic have no Snowball stemmer; for them a word is cut to its first six letters, which
catches most inflection in those languages at the cost of a few false matches.
"""
from __future__ import annotations

import functools
import re
import unicodedata

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


@functools.lru_cache(maxsize=32)
def _stemmer(language: str):
    import Stemmer

    name = SNOWBALL.get(language)
    return Stemmer.Stemmer(name) if name else None


def tokenize(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    return TOKEN_RE.findall(text)


def stem_tokens(tokens: list[str], language: str) -> list[str]:
    """Stems of tokens in one language; numbers and identifiers pass unchanged."""
    stemmer = _stemmer(language)
    out = []
    for token in tokens:
        if token[0].isdigit():
            out.append(token)
        elif stemmer is not None:
            out.append(stemmer.stemWord(token))
        elif language in PREFIX_LANGUAGES:
            out.append(token[:PREFIX_CHARS])
        else:
            out.append(token)
    return out


def analyze(text: str, language: str) -> list[str]:
    """Terms of a text in its language, as stored in and searched against the FTS5 table."""
    return stem_tokens(tokenize(text), language or "en")

"""Query understanding: which countries a query names, from a small table of names and demonyms.

The table is data (corpus/glossary/countries.toml): per country its manifest code, the languages
of its legislation and its names, demonyms and adjectives in English and its own language.
"""
from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from index.terms import tokenize


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    languages: tuple[str, ...]
    names: tuple[tuple[str, ...], ...]  # token sequences


@dataclass(frozen=True, slots=True)
class QueryIntent:
    """What a query says beyond its words: the countries it names and their languages."""

    countries: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    comparative: bool = False  # asks across countries or sources: the hits should come from several
    language: str = "en"  # the language the query is written in (query_language)


# Cues that a question wants answers from several countries or sources, not the one best document.
COMPARATIVE_RE = re.compile(
    r"\b(compar\w*|across|differ\w*|versus|vs|each country|member states|(?:nordic|baltic)(?: sea)? "
    r"countries|(?:several|different|other|various) (?:countries|states|jurisdictions)|examples)\b")
# A question that names two or more kinds of source ("in strategy and legislation", "from the
# strategy, UNODC data and the protocol") wants one answer from each.
SOURCE_KINDS = (
    frozenset({"strategy", "strategic", "plan", "policy"}),
    frozenset({"convention", "conventions", "protocol", "protocols", "treaty", "treaties", "directive"}),
    frozenset({"law", "laws", "legislation", "act", "code", "statute", "statutes"}),
    frozenset({"report", "reports", "data", "survey", "statistics", "study"}),
)


# Function words that tell the languages of the corpus apart in a one-line question: the commonest
# words of each language that are not also common words of the others (Danish and Norwegian
# share most; "å", "hva", "ikke" vs "at", "hvad", "ikke" part them roughly, which is enough to
# aim glossary expansion). Icelandic, Latvian and Polish are listed so their questions are not
# taken for English.
LANGUAGE_CUES = {
    "en": "the of and to in is are what which how does do can under who when whether for with on by an be",
    "de": "der die das und ist sind wann wie was welche welcher wer nach oder ein eine einer für nicht "
          "mit bei von zu im als gilt gelten darf kann",
    "sv": "och är att det en ett vad vilka vilket vilken hur när för inte som på med av till utan "
          "gäller om kan får",
    "nb": "og er å det en et hva hvilke hvordan når for ikke som på med av til uten gjelder om kan "
          "får straffbart",
    "da": "og er at det en et hvad hvilke hvordan når for ikke som på med af til uden gælder om kan",
    "fi": "ja on ei mitä mikä miten kun tai että jos se voiko onko",
    "pl": "i w na jest czy co jak się nie do z o lub przez",
    "lv": "un ir kā kas vai par ar uz no ja",
    "is": "og er að hvað hvernig eða með til fyrir ekki um",
}
_CUES = {lang: frozenset(words.split()) for lang, words in LANGUAGE_CUES.items()}


def query_language(tokens) -> str:
    """The language whose function words the query uses most; English on a tie or none."""
    tokens = list(tokens)
    counts = {lang: sum(t in cues for t in tokens) for lang, cues in _CUES.items()}
    best = max(counts.values())
    if best == 0 or counts["en"] == best:
        return "en"
    return next(lang for lang, n in counts.items() if n == best)


@functools.lru_cache(maxsize=4)
def load_countries(path: Path) -> tuple[Country, ...]:
    """Read the country table once per path; a missing file names no countries."""
    path = Path(path)
    if not path.is_file():
        return ()
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return tuple(Country(code=c["code"].upper(), languages=tuple(c.get("languages", ())),
                         names=tuple(tuple(tokenize(n)) for n in c.get("names", ()) if tokenize(n)))
                 for c in data.get("countries", ()))


def understand(query: str, countries: tuple[Country, ...]) -> QueryIntent:
    """The countries (codes, in table order) and their languages that the query names."""
    tokens = tuple(tokenize(query))
    present = set(tokens)
    codes, languages = [], []
    for country in countries:
        if any(n[0] in present and any(tokens[i:i + len(n)] == n for i in range(len(tokens) - len(n) + 1))
               for n in country.names):
            codes.append(country.code)
            languages.extend(lang for lang in country.languages if lang not in languages)
    kinds = sum(1 for words in SOURCE_KINDS if words & set(tokens))
    comparative = len(codes) >= 2 or kinds >= 2 or bool(COMPARATIVE_RE.search(" ".join(tokens)))
    return QueryIntent(countries=tuple(codes), languages=tuple(languages), comparative=comparative,
                       language=query_language(tokens))


_ESCAPED_BYTES_RE = re.compile("[\udc80-\udcff]+")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def clean_query(text) -> str:
    """A query as search can use it: one line of text without lone surrogates.

    Python hands bytes it could not decode to us as lone surrogates: `thb search $'Stra\\xdfe'`
    from a Latin-1 terminal arrives as "Stra\\udcdfe" (surrogateescape), and a JSON file may say
    "\\ud800". Escaped bytes are read as the Windows-1252 / Latin-1 text they most likely are
    ("Straße"); any other lone surrogate becomes a space. The tokenizer then never sees one.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if _SURROGATE_RE.search(text):
        text = _ESCAPED_BYTES_RE.sub(lambda m: _decode_escaped(m.group()), text)
        text = _SURROGATE_RE.sub(" ", text)
    return " ".join(text.split())


def _decode_escaped(run: str) -> str:
    raw = bytes(ord(ch) - 0xDC00 for ch in run)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")

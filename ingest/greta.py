"""GRETA country evaluation reports: recognise one, cite its numbered paragraphs, find its
recommendations.

A report is known from its manifest row (doc_type `greta_report`, country, round, year) or from
its front page ("GROUP OF EXPERTS ON ACTION AGAINST TRAFFICKING IN HUMAN BEINGS ... Evaluation
Report ... Third evaluation round"). Its paragraphs are numbered 1, 2, 3 ... and cited as
"GRETA LV 3rd round, para. 154". Footnotes sit at the foot of a page, inside the paragraph that
runs over it; they become units of their own, so no paragraph chunk carries them.

Recommendations are the sentences GRETA grades by urgency (Council of Europe, GRETA reports,
"List of GRETA's conclusions and proposals for action"): "GRETA urges" (the state does not
comply), "GRETA considers that ... should", "GRETA invites / encourages". "once again",
"further", "also" may stand between GRETA and the verb.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.documents import DocumentMeta, Unit

DOC_TYPE = "greta_report"
STRENGTHS = ("urges", "considers", "invites")  # strongest first
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}
COUNTRY_NAMES = {
    "denmark": "DK", "estonia": "EE", "finland": "FI", "germany": "DE", "iceland": "IS", "latvia": "LV",
    "lithuania": "LT", "norway": "NO", "poland": "PL", "sweden": "SE",
}
ADJECTIVES = {"DK": "Danish", "EE": "Estonian", "FI": "Finnish", "DE": "German", "IS": "Icelandic",
              "LV": "Latvian", "LT": "Lithuanian", "NO": "Norwegian", "PL": "Polish", "SE": "Swedish"}

_FRONT_RE = re.compile(r"GROUP OF EXPERTS ON ACTION\s+AGAINST TRAFFICKING|GRETA\s*\(\d{4}\)\s*\d+", re.I)
_ROUND_RE = re.compile(r"\b(first|second|third|fourth|fifth|sixth|[1-6])(?:st|nd|rd|th)?\s+evaluation\s+round", re.I)
_PARA_RE = re.compile(r"^(?P<num>\d{1,3})\.\s+(?=\S)")
_DOT_LEADER_RE = re.compile(r"\.{4,}|…{2,}")
_FOOTNOTE_RE = re.compile(r"^(?P<num>\d{1,3})\s+(?=\S)")
_HEADING_RE = re.compile(r"^(?:[IVXLC]+\.|[a-z]\.|\d{1,2}\.\d*)\s+\S.{0,110}$|^Appendix\s+\d+\b")
_APPENDIX_RE = re.compile(r"^Appendix\s+(?P<num>\d+)\b")
_CONCLUSIONS_RE = re.compile(r"List of GRETA.s conclusions", re.I)
_CUE_RE = re.compile(r"\bGRETA\s+(?:(?:once\s+again|again|further|also|therefore|strongly|nevertheless)\s+)*"
                     r"(?P<verb>urges|considers|invites|encourages)\b")
_ABBREVIATIONS = {"para", "paras", "art", "arts", "no", "nos", "e.g", "i.e", "etc", "mr", "ms", "dr", "st", "cf", "vol"}
_ARTICLES_RE = re.compile(r"\bArt(?:icles?|s?\.)\s+(\d+[a-z]?(?:\s*(?:,|and|to|-|–)\s*\d+[a-z]?)*)")
_PARAGRAPH_REF_RE = re.compile(r"\(\s*(?:see\s+)?paragraphs?\s+(\d+)[^)]*\)\s*\.?\s*$", re.I)


@dataclass(frozen=True, slots=True)
class GretaReport:
    """Which evaluation this is: country code, round, year, and GRETA's document code."""

    country: str
    round: int | None
    year: int | None = None
    code: str = ""

    @property
    def label(self) -> str:
        """Citation prefix: `GRETA LV 3rd round`."""
        parts = ["GRETA", self.country or "?"]
        if self.round:
            parts.append(f"{ordinal(self.round)} round")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One recommendation sentence and where it stands: its paragraph's span in the text."""

    ordinal: int
    paragraph: str
    strength: str  # urges | considers | invites
    text: str
    authorities: tuple[str, ...]
    articles: tuple[str, ...]
    start: int
    end: int
    source: str = "body"  # body | appendix (found only in the appendix list)
    in_appendix: bool = False


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def report_of(meta: DocumentMeta, text: str) -> GretaReport | None:
    """The report a document is, from its manifest row or its front page; None for other documents."""
    front = text[:3000]
    if meta.doc_type in {"national_legislation", "international_instrument", "eu_legislation"}:
        return None  # a law or treaty that names GRETA on its first page is still a law
    if meta.doc_type != DOC_TYPE and not (_FRONT_RE.search(front) and re.search(r"evaluation\s+(report|round)", front, re.I)):
        return None
    round_ = getattr(meta, "round", None)
    if not round_ and (m := _ROUND_RE.search(front)):
        word = m.group(1).lower()
        round_ = ORDINALS.get(word) or int(word)
    country = meta.country
    if not country:
        names = re.findall(r"\b(" + "|".join(COUNTRY_NAMES) + r")\b", front.lower())
        country = COUNTRY_NAMES[names[0]] if names else ""
    code = m.group(0) if (m := re.search(r"GRETA\s*\(\d{4}\)\s*\d+", front)) else ""
    return GretaReport(country=country, round=round_, year=meta.year, code=code.replace(" ", ""))


def find_units(text: str, report: GretaReport) -> list[Unit]:
    """Units of a GRETA report: front matter, numbered paragraphs (in pieces around footnotes),
    footnote blocks, appendices. Every character belongs to one unit."""
    marks = _marks(text)
    units: list[Unit] = []
    bounds = [m[0] for m in marks] + [len(text)]
    if marks and marks[0][0] > 0:
        units.append(Unit(label=report.label, start=0, end=marks[0][0], kind="body"))
    elif not marks:
        return [Unit(label=report.label, start=0, end=len(text), kind="body")]
    for (start, kind, value), end in zip(marks, bounds[1:]):
        if not text[start:end].strip():
            continue
        if kind == "paragraph":
            units.append(Unit(label=f"{report.label}, para. {value}", start=start, end=end, kind="paragraph",
                              paragraph=value))
        elif kind == "footnotes":
            units.append(Unit(label=f"{report.label}, footnotes", start=start, end=end, kind="body"))
        else:
            units.append(Unit(label=f"{report.label}, {value}" if value else report.label, start=start, end=end,
                              kind="body"))
    return units


def _marks(text: str) -> list[tuple[int, str, str]]:
    """(offset, kind, value) where a unit starts: paragraph N, footnotes, appendix, or the paragraph
    resuming after a footnote block. A heading line joins the paragraph after it. Footnotes run from
    the next expected footnote number to the end of the page (the blank line pages are joined by)."""
    marks: list[tuple[int, str, str]] = []
    last_para, next_note, in_notes, resume, appendix = 0, 1, False, False, ""
    heading_at: int | None = None
    offset = 0
    for line in text.split("\n"):
        stripped = line.strip()
        here, offset = offset, offset + len(line) + 1
        if not stripped:
            if in_notes:
                in_notes, resume = False, True
            continue
        if (m := _APPENDIX_RE.match(stripped)) and last_para:
            appendix = f"Appendix {m.group('num')}"
            marks.append((here, "appendix", appendix))
            in_notes = resume = False
            heading_at = None
            continue
        if appendix:
            continue
        note = _FOOTNOTE_RE.match(stripped)
        if note and int(note.group("num")) == next_note and not _PARA_RE.match(stripped):
            next_note += 1
            if not in_notes:
                marks.append((here, "footnotes", ""))
                in_notes, heading_at = True, None  # a heading left above the notes stays where it is
            continue
        if in_notes:
            continue  # a footnote running onto another line
        para = _PARA_RE.match(stripped)
        if para and not _DOT_LEADER_RE.search(stripped) and last_para < int(para.group("num")) <= last_para + 3:
            last_para = int(para.group("num"))
            marks.append((heading_at if heading_at is not None else here, "paragraph", str(last_para)))
            resume, heading_at = False, None
            continue
        if _HEADING_RE.match(stripped) and not stripped.endswith((".", ";", ",")) and last_para:
            if heading_at is None:
                heading_at = here
            resume = False
            continue
        if resume and last_para:
            marks.append((here, "paragraph", str(last_para)))  # the paragraph resumes on the next page
        resume, heading_at = False, None
    return marks


def paragraph_pieces(units: list[Unit]) -> dict[str, list[tuple[int, int]]]:
    """Each paragraph number's (start, end) pieces, in text order (footnotes left out)."""
    out: dict[str, list[tuple[int, int]]] = {}
    for unit in units:
        if unit.kind == "paragraph":
            out.setdefault(unit.paragraph, []).append((unit.start, unit.end))
    return out


def paragraph_text(text: str, pieces: list[tuple[int, int]]) -> str:
    """The paragraph as one string: pieces joined, heading lines above its number dropped,
    footnote markers glued to words removed, whitespace collapsed."""
    joined = " ".join(text[s:e] for s, e in pieces)
    lines = joined.split("\n")
    for i, line in enumerate(lines):
        if _PARA_RE.match(line.strip()):
            lines = lines[i:]
            break
    body = re.sub(r"-\n(?=[a-z])", "", "\n".join(lines))
    body = re.sub(r"(?<=[a-z\.,;:)\]])\d{1,3}(?=\s|$)", "", body)  # "victims.3 The" -> "victims. The"
    return " ".join(body.split())


def extract_recommendations(text: str, units: list[Unit], report: GretaReport) -> list[Recommendation]:
    """Every recommendation of the report's paragraphs, then those found only in the appendix list."""
    found: list[Recommendation] = []
    for number, pieces in paragraph_pieces(units).items():
        body = _PARA_RE.sub("", paragraph_text(text, pieces), count=1)
        for sentence, strength in recommendation_sentences(body):
            found.append(_record(len(found), number, strength, sentence, report, pieces[0][0], pieces[-1][1]))
    appendix = [u for u in units if u.label.endswith(", Appendix 1") or
                (u.label.split(", ")[-1].startswith("Appendix") and _CONCLUSIONS_RE.search(text[u.start:u.end]))]
    for unit in appendix[:1]:
        found = _merge_appendix(found, text, unit, report)
    return found


def recommendation_sentences(body: str) -> list[tuple[str, str]]:
    """(sentence, strength) for each recommendation sentence of a paragraph's plain text."""
    out = []
    for cue in _CUE_RE.finditer(body):
        if out and cue.start() < out[-1][2]:  # a second cue inside the sentence just taken
            continue
        start = _sentence_start(body, cue.start())
        end = _sentence_end(body, cue.end())
        sentence = body[start:end].strip()
        verb = cue.group("verb")
        if verb == "considers" and not re.search(r"\bshould\b", sentence):
            continue
        strength = {"urges": "urges", "considers": "considers"}.get(verb, "invites")
        out.append((sentence, strength, end))
    return [(s, k) for s, k, _e in out]


def _sentence_start(body: str, pos: int) -> int:
    for m in reversed(list(re.finditer(r"[.!?]\s+", body[:pos]))):
        if not _is_abbreviation(body, m.start()):
            return m.end()
    return 0


def _sentence_end(body: str, pos: int) -> int:
    for m in re.finditer(r"\.(?=\s+[A-Z(►•]|\s*$)", body[pos:]):
        at = pos + m.start()
        if not _is_abbreviation(body, at):
            return at + 1
    return len(body)


def _is_abbreviation(body: str, dot: int) -> bool:
    word = re.search(r"([\w.]+)$", body[:dot])
    return bool(word) and (word.group(1).lower() in _ABBREVIATIONS or
                           (len(word.group(1)) == 1 and word.group(1).isalpha()))


def authorities_of(sentence: str, country: str = "") -> tuple[str, ...]:
    """Who is addressed: `the State Police and the Prosecution Office` -> (State Police, Prosecution Office)."""
    m = (re.search(r"\b(?:urges|invites|encourages)\s+(.{3,160}?)\s+to\b", sentence)
         or re.search(r"\bconsiders\s+that\s+(.{3,160}?)\s+should\b", sentence))
    if not m:
        return ()
    names = []
    for part in re.split(r",\s*|\s+and\s+(?=the\b|[A-Z])", m.group(1)):
        part = re.sub(r"^(?:the|all)\s+", "", part.strip()).strip()
        if part and part[0].isupper() or part.endswith("authorities"):
            names.append(part)
    return tuple(names)


def articles_of(sentence: str) -> tuple[str, ...]:
    """Convention articles a sentence names: `Articles 12 and 15` -> ("12", "15")."""
    out: list[str] = []
    for m in _ARTICLES_RE.finditer(sentence):
        for a, _sep, b in re.findall(r"(\d+[a-z]?)(\s*(?:to|-|–)\s*(\d+))?", m.group(1)):
            if b and a.isdigit() and int(b) - int(a) < 20:
                out += [str(n) for n in range(int(a), int(b) + 1)]
            else:
                out.append(a)
    return tuple(dict.fromkeys(out))


def _record(ordinal_: int, paragraph: str, strength: str, sentence: str, report: GretaReport,
            start: int, end: int, source: str = "body") -> Recommendation:
    return Recommendation(ordinal=ordinal_, paragraph=paragraph, strength=strength, text=sentence,
                          authorities=authorities_of(sentence, report.country), articles=articles_of(sentence),
                          start=start, end=end, source=source)


def _merge_appendix(found: list[Recommendation], text: str, unit: Unit, report: GretaReport) -> list[Recommendation]:
    """Mark body recommendations the appendix repeats; add appendix items the body lacks."""
    import dataclasses
    from difflib import SequenceMatcher

    items = re.split(r"(?:^|\n)\s*(?:►|•|▪|-)\s+", text[unit.start:unit.end])[1:]
    out = list(found)
    for item in items:
        item = " ".join(item.split())
        ref = _PARAGRAPH_REF_RE.search(item)
        paragraph = ref.group(1) if ref else ""
        sentence = item[:ref.start()].strip() if ref else item
        pairs = recommendation_sentences(sentence)
        if not pairs:
            continue
        sentence, strength = pairs[0]
        same = [i for i, r in enumerate(out) if r.source == "body" and (not paragraph or r.paragraph == paragraph)
                and SequenceMatcher(None, r.text, sentence).quick_ratio() > 0.8]
        if same:
            out[same[0]] = dataclasses.replace(out[same[0]], in_appendix=True)
        else:
            out.append(dataclasses.replace(_record(len(out), paragraph, strength, sentence, report, unit.start,
                                                   unit.end, source="appendix"), in_appendix=True))
    return out

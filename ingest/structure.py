"""Find a document's own units: chapters and headings, legal provisions, numbered paragraphs.

Units are found line by line. Legal provisions (`§ 232 Menschenhandel`, `§ 257. Menneskehandel`,
`4 kap. 1 a §`, `Article 13`, `Art. 189a`, `154.1 pants`, `227. gr. a`) are hard boundaries: no
chunk crosses one. Chapter lines (`Achtzehnter Abschnitt`, `4 kap.`, `CHAPTER IV`, `25 luku`)
give context to the provisions under them. Numbered paragraphs (GRETA's `12.`) are used in
documents that have no legal provisions, when they run in sequence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.documents import Unit

_ROMAN = r"[IVXLC]+"
CHAPTER_PATTERNS = [
    re.compile(r"^(?P<label>\d+\s*kap\.)(?:\s+.*)?$"),                        # sv: 4 kap. Om brott ...
    re.compile(r"^(?P<label>\d+\s*luku)\b.*$", re.IGNORECASE),                # fi: 25 luku
    re.compile(rf"^(?P<label>(?:CHAPTER|Chapter|Kapitel|Kapittel|Rozdział|Dział)\s+(?:{_ROMAN}|\d+[a-z]?))\b.*$"),
    re.compile(rf"^(?P<label>{_ROMAN}\.?\s*(?:nodaļa|kafli|skyrius|peatükk))\b.*$", re.IGNORECASE),
    # de: "Achtzehnter Abschnitt - ...", "Abschnitt 2 - Sorgfaltspflichten"; not a wrapped line that
    # starts "diesem Abschnitt festgelegten ..." (LkSG) or "oder Abschnitt 5 ..." (ProstSchG).
    re.compile(r"^(?P<label>[A-ZÄÖÜ][a-zäöüß]+s?ter\s+Abschnitt)(?:\s*[-–—:.]\s+\S.*)?$"),
    re.compile(r"^(?P<label>Abschnitt\s+\d+[a-z]?)(?:\s*[-–—:.]\s+\S.*)?$"),
    re.compile(r"^(?P<label>(?:PART|Part|Teil)\s+(?:[IVXLC]+|\d+|[A-Z][a-z]+))\b.*$"),
]

# Each pattern: (regex, needs a blank line before it). The `label` group is the citation form.
PROVISION_PATTERNS = [
    (re.compile(r"^(?P<label>§\s*\d+\s?[a-z]?)(?:\.|\b)\s*(?P<title>[^\d(\s].{0,120})?$"), True),
    (re.compile(r"^(?P<label>(?:Article|Artikel|Artikkel|Artikla|Artykuł|Art\.)\s*\d+[a-z]?)\b\.?"
                r"(?:\s*[-–—:.]?\s*(?P<title>[A-Z][^.]{0,100}))?$"), False),
    (re.compile(r"^(?P<label>\d+\s?[a-z]?\s?§)\s*(?P<title>\S.{0,100})?$"), False),  # sv/fi: 1 a §
    (re.compile(r"^(?P<label>\d+(?:\.\d+)?\s*\.?\s*pants)\.?\s*(?P<title>.{0,120})$"), False),  # lv
    (re.compile(r"^\[?(?P<label>\d+\.\s*gr\.(?:\s?[a-z]\.?)?)\s*$"), False),  # is: [227. gr. a.
]
HEADING_RE = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*$")
PARAGRAPH_RE = re.compile(r"^(?P<num>\d{1,3})\.\s+(?=[A-ZÀ-Þ])")
MAX_HEADING_CHARS = 90


@dataclass(frozen=True, slots=True)
class _Mark:
    start: int
    kind: str  # chapter | legal | heading | paragraph
    label: str
    title: str = ""
    number: str = ""


def find_units(text: str, *, short_title: str = "") -> list[Unit]:
    """Split a document into units covering its text; labels are citation-ready."""
    lines = _lines_with_offsets(text)
    marks = _legal_marks(lines)
    has_legal = any(m.kind == "legal" for m in marks)
    if not has_legal:
        marks = _heading_marks(lines)
        paragraphs = _paragraph_marks(lines)
        if len(paragraphs) >= 5:
            marks = sorted(marks + paragraphs, key=lambda m: m.start)
    return _units_from_marks(text, marks, short_title=short_title)


def _lines_with_offsets(text: str) -> list[tuple[int, str, bool]]:
    """(offset, line, previous line blank) for every line."""
    out, offset, prev_blank = [], 0, True
    for line in text.split("\n"):
        out.append((offset, line, prev_blank))
        prev_blank = not line.strip()
        offset += len(line) + 1
    return out


def _legal_marks(lines) -> list[_Mark]:
    marks = []
    for i, (offset, line, prev_blank) in enumerate(lines):
        if not line or line[0].isspace() or len(line) > 160:
            continue
        stripped = line.strip()
        for pattern in CHAPTER_PATTERNS:
            m = pattern.match(stripped)
            if m and len(stripped) <= 140:
                marks.append(_Mark(offset, "chapter", _tidy(m.group("label")), _tidy(stripped)))
                break
        else:
            for pattern, needs_blank in PROVISION_PATTERNS:
                m = pattern.match(stripped)
                if m and (prev_blank or not needs_blank):
                    title = _tidy(m.groupdict().get("title") or "") or (
                        _title_below(lines, i) if m.group("label").startswith("Art") else "")
                    marks.append(_Mark(offset, "legal", _tidy(m.group("label")), title))
                    break
    return marks


def _title_below(lines, i: int) -> str:
    """The short title line that some treaties print under `Article 13`."""
    for j in range(i + 1, min(i + 3, len(lines))):
        stripped = lines[j][1].strip()
        if not stripped:
            continue
        followed_by_blank = j + 1 >= len(lines) or not lines[j + 1][1].strip()
        if (followed_by_blank and len(stripped) <= 100 and len(stripped.split()) <= 12
                and stripped[0].isupper() and stripped[-1] not in ".,;:"
                and not PARAGRAPH_RE.match(stripped)):
            return _tidy(stripped)
        return ""
    return ""


def _heading_marks(lines) -> list[_Mark]:
    """Markdown headings, and short title-like lines standing alone between blank lines."""
    marks = []
    for i, (offset, line, prev_blank) in enumerate(lines):
        stripped = line.strip()
        m = HEADING_RE.match(stripped)
        if m and _is_title(m.group("title")):
            marks.append(_Mark(offset, "heading", _tidy(m.group("title"))))
            continue
        next_blank = i + 1 >= len(lines) or not lines[i + 1][1].strip()
        if (prev_blank and next_blank and 3 <= len(stripped) <= MAX_HEADING_CHARS
                and stripped[0].isupper() and stripped[-1] not in ".,;:!?)\"”"
                and len(stripped.split()) <= 12 and not stripped.startswith(("•", "-", "*"))
                and _is_title(stripped)):
            marks.append(_Mark(offset, "heading", _tidy(stripped.strip("*_ "))))
    return marks


def _is_title(text: str) -> bool:
    """A heading starts with a capital or a number and is mostly letters: a PDF table row such as
    "# of Situations % of Situations" or "% # % # %" (Polaris 2021 hotline report) is not."""
    text = text.strip(" *_")
    chars = [ch for ch in text if not ch.isspace()]
    letters = sum(ch.isalpha() for ch in chars)
    return bool(text) and (text[0].isupper() or text[0].isdigit()) and letters >= 0.6 * len(chars) \
        and "%" not in text


def _paragraph_marks(lines) -> list[_Mark]:
    """Numbered paragraphs that run in sequence (1., 2., 3. ...), as in GRETA reports."""
    marks, last = [], 0
    for offset, line, _prev_blank in lines:
        m = PARAGRAPH_RE.match(line)
        if not m:
            continue
        number = int(m.group("num"))
        if last < number <= last + 3:
            marks.append(_Mark(offset, "paragraph", f"para. {number}", number=str(number)))
            last = number
    return marks


def _units_from_marks(text: str, marks: list[_Mark], *, short_title: str) -> list[Unit]:
    units: list[Unit] = []
    bounds = [m.start for m in marks] + [len(text)]
    first = bounds[0] if marks else len(text)
    if text[:first].strip():
        units.append(Unit(label=short_title, start=0, end=first, kind="body"))
    chapter, heading = "", ""
    for mark, end in zip(marks, bounds[1:]):
        if mark.kind == "chapter":
            chapter = mark.label
            kind, label = "heading", " ".join(p for p in (short_title, mark.title) if p)
        elif mark.kind == "legal":
            kind, label = "legal", _provision_label(short_title, chapter, mark)
        elif mark.kind == "heading":
            heading = mark.label
            kind, label = "heading", mark.label
        else:
            kind, label = "paragraph", " ".join(p for p in (heading, mark.label) if p)
        if text[mark.start:end].strip():
            units.append(Unit(label=label, start=mark.start, end=end, kind=kind, paragraph=mark.number))
    return _merge_empty_heads(text, units)


def _provision_label(short_title: str, chapter: str, mark: _Mark) -> str:
    label = mark.label
    # Swedish and Finnish sections are numbered within a chapter: "4 kap. 1 a §", "25 luku 3 §".
    if label.endswith("§") and chapter and ("kap." in chapter or "luku" in chapter):
        label = f"{chapter} {label}"
    parts = [short_title, label]
    if mark.title:
        parts.append(mark.title)
    return " ".join(p for p in parts if p)


def _merge_empty_heads(text: str, units: list[Unit]) -> list[Unit]:
    """A unit that holds only its own heading line joins the unit after it."""
    merged: list[Unit] = []
    pending: Unit | None = None
    for unit in units:
        body = text[unit.start:unit.end].strip()
        if unit.kind == "heading" and len(body) <= 160:
            pending = pending or unit
            continue
        if pending is not None:
            label = unit.label if unit.kind == "legal" else " › ".join(
                p for p in (pending.label, unit.label) if p and p != pending.label) or pending.label
            unit = Unit(label=label, start=pending.start, end=unit.end, kind=unit.kind, paragraph=unit.paragraph)
            pending = None
        merged.append(unit)
    if pending is not None:
        merged.append(pending)
    return merged


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("**", "")).strip(" -–—:*_#")

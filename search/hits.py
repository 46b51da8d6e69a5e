"""Types the search stage produces."""
from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions on which documents may answer."""

    countries: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    priorities: tuple[str, ...] = ()
    strengths: tuple[str, ...] = ()  # GRETA recommendation strengths: urges | considers | invites

    @property
    def empty(self) -> bool:
        return not (self.countries or self.doc_types or self.languages or self.year_from
                    or self.year_to or self.priorities or self.strengths)


@dataclass(frozen=True, slots=True)
class Highlight:
    """An answering sentence: character offsets into the hit's text, and its score."""

    start: int
    end: int
    score: float
    text: str


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked passage with everything needed to cite it."""

    rank: int
    score: float
    chunk_id: str
    doc_id: str
    doc_path: str
    title: str
    doc_type: str
    country: str
    language: str
    year: int | None
    page: int | None
    page_end: int | None
    section: str
    paragraph: str
    start: int
    end: int
    text: str
    highlights: tuple[Highlight, ...] = ()
    priorities: tuple[str, ...] = ()
    priority_scores: dict = field(default_factory=dict)
    lexical_score: float = 0.0
    dense_score: float = 0.0
    ocr: bool = False  # its text (some page of it) was read by OCR
    strength: str = ""  # strongest GRETA recommendation in its paragraph
    role: str = ""  # what the passage is (ingest/roles.py): preamble, operative, final_clause ...
    # The learned ranker's probability that the passage answers (search/ranker.py); None without weights.
    confidence: float | None = None

    @property
    def citation(self) -> str:
        """The one citation format, for the CLI, the JSON and the app: `Title, § 232 …, para. 4, p. 12`:
        document, section, numbered paragraph (unless the section names it), page ("(OCR)" when read so)."""
        parts = [self.title]
        if self.section and self.section != self.title:
            parts.append(self.section)
        para = (self.paragraph or "").strip()
        if para and not re.search(rf"(?<![\w.]){re.escape(para)}(?!\w)", self.section or ""):
            parts.append(f"para. {para}" if para[:1].isdigit() else para)
        if self.page:
            parts.append(f"p. {self.page}" if self.page_end in (None, self.page) else f"pp. {self.page}-{self.page_end}")
            if self.ocr:
                parts[-1] += " (OCR)"
        return ", ".join(parts)

    def to_json(self) -> dict:
        return {
            "rank": self.rank, "score": round(self.score, 6), "chunk_id": self.chunk_id,
            "doc_path": self.doc_path, "title": self.title, "doc_type": self.doc_type,
            "country": self.country, "language": self.language, "year": self.year, "page": self.page,
            "page_end": self.page_end, "section": self.section, "paragraph": self.paragraph,
            "citation": self.citation, "start": self.start, "end": self.end, "text": self.text,
            "highlight": [{"start": h.start, "end": h.end, "score": round(h.score, 4), "text": h.text}
                          for h in self.highlights],
            "priorities": list(self.priorities),
            "priority_scores": self.priority_scores,
            "ocr": self.ocr, "strength": self.strength, "role": self.role,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
        }


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Hits for one query, with the message to show when there are none."""

    query: str
    hits: tuple[Hit, ...]
    message: str = ""
    expansions: tuple[str, ...] = ()
    notice: str = ""  # "no strong match" when the best hit's confidence is below the ranker's threshold

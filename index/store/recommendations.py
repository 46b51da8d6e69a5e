"""GRETA reports, their recommendations and the pages read by OCR (migration 4 of the schema)."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import numpy as np

from index.store.chunks import STRENGTH_ORDER
from index.store.schema import has_table


@dataclass(frozen=True, slots=True)
class StoredRecommendation:
    """A recommendation row with its report: everything a listing or a citation needs."""

    rec_id: int
    doc_id: str
    doc_path: str
    title: str
    country: str
    round: int | None
    year: int | None
    label: str
    paragraph: str
    page_start: int | None
    page_end: int | None
    start: int
    end: int
    strength: str
    text: str
    authorities: tuple[str, ...]
    articles: tuple[str, ...]
    priorities: tuple[str, ...]
    source: str
    in_appendix: bool

    @property
    def citation(self) -> str:
        """`GRETA LV 3rd round, para. 154, p. 41`."""
        parts = [self.label]
        if self.paragraph:
            parts.append(f"para. {self.paragraph}")
        if self.page_start:
            parts.append(f"p. {self.page_start}" if self.page_end in (None, self.page_start)
                         else f"pp. {self.page_start}-{self.page_end}")
        return ", ".join(parts)

    def to_json(self) -> dict:
        return {"rec_id": self.rec_id, "citation": self.citation, "country": self.country, "round": self.round,
                "year": self.year, "paragraph": self.paragraph, "page": self.page_start, "strength": self.strength,
                "text": self.text, "authorities": list(self.authorities), "articles": list(self.articles),
                "priorities": list(self.priorities), "source": self.source, "in_appendix": self.in_appendix,
                "doc_id": self.doc_id, "doc_path": self.doc_path, "start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class GretaChoices:
    """The countries and rounds of the GRETA reports in the store."""

    countries: tuple[str, ...] = ()
    rounds: tuple[int, ...] = ()


def write_ocr_pages(conn: sqlite3.Connection, doc_id: str, pages, seconds_each: float) -> None:
    conn.executemany("INSERT OR REPLACE INTO ocr_pages VALUES (?,?,?)", [(doc_id, p, seconds_each) for p in pages])


def write_greta_report(conn: sqlite3.Connection, doc_id: str, *, country: str, round_: int | None,
                       year: int | None, code: str, label: str) -> None:
    conn.execute("INSERT OR REPLACE INTO greta_reports VALUES (?,?,?,?,?,?)",
                 (doc_id, country, round_, year, code, label))


def insert_recommendation(conn: sqlite3.Connection, doc_id: str, *, ordinal: int, paragraph: str,
                          page_start: int | None, page_end: int | None, start: int, end: int, strength: str,
                          text: str, authorities: tuple[str, ...], articles: tuple[str, ...], source: str,
                          in_appendix: bool, priorities: list[str], priority_scores: dict,
                          embedding: bytes | None) -> None:
    conn.execute(
        "INSERT INTO recommendations (doc_id, ordinal, paragraph, page_start, page_end, start, \"end\", strength, "
        "text, authorities, articles, source, in_appendix, priorities, priority_scores, embedding) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (doc_id, ordinal, paragraph, page_start, page_end, start, end, strength, text,
         json.dumps(list(authorities)), json.dumps(list(articles)), source, int(in_appendix),
         json.dumps(priorities), json.dumps(priority_scores), embedding))


def greta_choices(conn: sqlite3.Connection) -> GretaChoices:
    if not has_table(conn, "greta_reports"):
        return GretaChoices()
    return GretaChoices(
        tuple(r[0] for r in conn.execute("SELECT DISTINCT country FROM greta_reports ORDER BY 1") if r[0]),
        tuple(r[0] for r in conn.execute("SELECT DISTINCT round FROM greta_reports ORDER BY 1") if r[0]))


@dataclass(frozen=True, slots=True)
class RecommendationFilters:
    """Which recommendations to list; empty tuples mean all."""

    countries: tuple[str, ...] = ()
    strengths: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    rounds: tuple[int, ...] = ()


_SELECT = """
SELECT r.*, g.country, g.round, g.year, g.label, d.title,
       (SELECT p.doc_path FROM paths p WHERE p.doc_id = r.doc_id ORDER BY p.doc_path LIMIT 1) AS doc_path
FROM recommendations r JOIN greta_reports g ON g.doc_id = r.doc_id JOIN documents d ON d.doc_id = r.doc_id
"""


def list_recommendations(conn: sqlite3.Connection, filters: RecommendationFilters = RecommendationFilters()
                         ) -> list[StoredRecommendation]:
    """Recommendations matching the filters, by country, round, paragraph order."""
    if not has_table(conn, "recommendations"):
        return []
    where, args = [], []
    for column, values in (("g.country", tuple(c.upper() for c in filters.countries)),
                           ("r.strength", filters.strengths), ("g.round", filters.rounds)):
        if values:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    if filters.priorities:
        where.append("EXISTS (SELECT 1 FROM json_each(r.priorities) j WHERE j.value IN (%s))"
                     % ",".join("?" * len(filters.priorities)))
        args.extend(filters.priorities)
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + \
        f" ORDER BY g.country, g.round, r.ordinal, {STRENGTH_ORDER}"
    return [_row(r) for r in conn.execute(sql, args)]


def _row(r) -> StoredRecommendation:
    return StoredRecommendation(
        rec_id=r["rec_id"], doc_id=r["doc_id"], doc_path=r["doc_path"] or "", title=r["title"],
        country=r["country"], round=r["round"], year=r["year"], label=r["label"], paragraph=r["paragraph"],
        page_start=r["page_start"], page_end=r["page_end"], start=r["start"], end=r["end"], strength=r["strength"],
        text=r["text"], authorities=tuple(json.loads(r["authorities"])), articles=tuple(json.loads(r["articles"])),
        priorities=tuple(json.loads(r["priorities"])), source=r["source"], in_appendix=bool(r["in_appendix"]))


def recommendation_vectors(conn: sqlite3.Connection, rec_ids: list[int], dimension: int) -> dict[int, np.ndarray]:
    """Stored MiniLM vectors of recommendations (those ingested with a tagger)."""
    if not rec_ids:
        return {}
    marks = ",".join("?" * len(rec_ids))
    rows = conn.execute(f"SELECT rec_id, embedding FROM recommendations WHERE rec_id IN ({marks}) "
                        "AND embedding IS NOT NULL", rec_ids)
    return {r[0]: np.frombuffer(r[1], dtype=np.float32, count=dimension) for r in rows}

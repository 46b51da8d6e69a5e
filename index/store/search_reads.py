"""Reads of the searcher (search/engine.py, search/retrieval.py): who owns each vector row, which
rows pass the filters, BM25 from FTS5, the FTS vocabulary."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from index.store.chunks import strength_filter_sql
from index.store.provision_spans import ChunkLayout, layout_of
from index.store.schema import has_table


@dataclass(frozen=True, slots=True)
class ChunkOwner:
    """Which document (and its country) a vector row belongs to."""

    vec_id: int
    doc_id: str
    country: str


def languages(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The languages of the stored chunks."""
    return tuple(r[0] for r in conn.execute("SELECT DISTINCT language FROM chunks WHERE language != ''"))


def chunk_owners(conn: sqlite3.Connection) -> list[ChunkOwner]:
    """Every chunk's document and country (upper-cased), in vec_id order."""
    rows = conn.execute("SELECT c.vec_id, d.doc_id, d.country FROM chunks c "
                        "JOIN documents d ON d.doc_id = c.doc_id ORDER BY c.vec_id")
    return [ChunkOwner(int(v), doc, (country or "").upper()) for v, doc, country in rows]


def owners_and_layout(conn: sqlite3.Connection) -> tuple[list[ChunkOwner], ChunkLayout]:
    """`chunk_owners` and `chunk_layout` in one pass over the chunk rows (at a million chunks,
    each pass takes 7-9 s)."""
    rows = conn.execute('SELECT c.vec_id, d.doc_id, d.country, c.section, c.start, c."end" FROM chunks c '
                        "JOIN documents d ON d.doc_id = c.doc_id ORDER BY c.vec_id").fetchall()
    owners = [ChunkOwner(int(v), doc, (country or "").upper()) for v, doc, country, *_ in rows]
    return owners, layout_of((v, doc, section, start, end) for v, doc, _c, section, start, end in rows)


def filtered_vec_ids(conn: sqlite3.Connection, *, countries=(), doc_types=(), languages=(), year_from=None,
                     year_to=None, priorities=(), strengths=()) -> set[int]:
    """The vec_ids of chunks whose document (and tags, and GRETA paragraph) pass every given filter.
    Countries are compared upper-cased; a store without GRETA tables has no recommendation."""
    where, args = [], []
    for column, values in (("d.country", tuple(v.upper() for v in countries)), ("d.doc_type", doc_types),
                           ("d.language", languages)):
        if values:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    if year_from:
        where.append("d.year >= ?")
        args.append(year_from)
    if year_to:
        where.append("d.year <= ?")
        args.append(year_to)
    if priorities:
        where.append("EXISTS (SELECT 1 FROM json_each(c.priorities) j WHERE j.value IN (%s))"
                     % ",".join("?" * len(priorities)))
        args.extend(priorities)
    if strengths:
        clause, values = strength_filter_sql(tuple(strengths)) if has_table(conn, "recommendations") else ("0", [])
        where.append(clause)
        args.extend(values)
    sql = "SELECT c.vec_id FROM chunks c JOIN documents d ON d.doc_id = c.doc_id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return {r[0] for r in conn.execute(sql, args)}


def fts_bm25(conn: sqlite3.Connection, phrases: list[str]) -> dict[int, float]:
    """{vec_id: bm25} of the chunks holding any of the phrases, from FTS5 (higher is better)."""
    match = " OR ".join('"' + p.replace('"', "") + '"' for p in phrases)
    rows = conn.execute("SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?", (match,))
    return {int(r[0]): -float(r[1]) for r in rows}


def term_df(conn: sqlite3.Connection) -> dict[str, int]:
    """How many chunks hold each indexed term, from FTS5's vocabulary."""
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.thb_vocab USING fts5vocab(main, 'chunks_fts', 'row')")
    return {r[0]: int(r[1]) for r in conn.execute("SELECT term, doc FROM temp.thb_vocab")}

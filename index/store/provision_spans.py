"""Whole provisions: the short labelled section (an article, a §) around a chunk, as one span.

A document's chunks are written in order, so a section's chunks are neighbours by vec_id. Finding
a section's run needs only each chunk's document, section and span. A chunk row also holds its two
embeddings, so reading one is a page read: the 600 rows around 40 candidates cost 3 ms on the shared
corpus. With a `ChunkLayout` (those four fields of every chunk, in memory) the runs are found without
reading rows, and only the rows of the runs that are joined are read.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class ProvisionSpan:
    """A whole short labelled section: its span in the document, pages, text, each of its
    chunks' (start, sentence spans or None) in text order, and the priorities of all its chunks
    (`union_tags`)."""

    start: int
    end: int
    page_start: int | None
    page_end: int | None
    text: str
    parts: tuple
    priorities: tuple = ()
    priority_scores: dict | None = None


@dataclass(frozen=True, slots=True)
class ChunkLayout:
    """Each chunk's document, section and span, by vec_id: codes into `docs` / `sections`, -1 in
    `doc` where no chunk has that vec_id."""

    doc: np.ndarray
    section: np.ndarray
    start: np.ndarray
    end: np.ndarray
    docs: dict[str, int]
    sections: dict[str, int]


_ROW_COLUMNS = 'vec_id, doc_id, section, start, "end", page_start, page_end, sentences, text, priorities, priority_scores'


def chunk_layout(conn: sqlite3.Connection) -> ChunkLayout:
    """The layout of every chunk in the store (one pass over the rows' leading columns)."""
    return layout_of(conn.execute('SELECT vec_id, doc_id, section, start, "end" FROM chunks'))


def layout_of(rows) -> ChunkLayout:
    """The layout of (vec_id, doc_id, section, start, end) rows."""
    docs: dict[str, int] = {}
    sections: dict[str, int] = {}
    ids, doc, section, start, end = [], [], [], [], []
    for v, d, s, a, b in rows:
        ids.append(v)
        doc.append(docs.setdefault(d, len(docs)))
        section.append(sections.setdefault(s, len(sections)))
        start.append(a)
        end.append(b)
    size = max(ids, default=-1) + 1
    out = [np.full(size, -1, dtype=np.int32), np.full(size, -1, dtype=np.int32),
           np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)]
    at = np.asarray(ids, dtype=np.int64)
    for array, values in zip(out, (doc, section, start, end)):
        array[at] = values
    return ChunkLayout(*out, docs, sections)


def fetch_provisions(conn: sqlite3.Connection, chunks: dict[int, tuple[str, str]], max_chars: int,
                     *, window: int = 8, layout: ChunkLayout | None = None) -> dict[int, ProvisionSpan]:
    """The whole short labelled section around each chunk of `chunks` ({vec_id: (doc_id, section)}):
    {vec_id: ProvisionSpan} where the section is two or more chunks
    in a row spanning at most `max_chars` characters of its document; `parts` holds each chunk's
    (start, sentence spans or None) in text order. Only `window` ids either side are looked at (a
    run reaching further is not short). `layout`: the store's ChunkLayout, when the caller holds it."""
    wanted = {k: v for k, v in chunks.items() if v[1]}
    if not wanted:
        return {}
    if layout is not None:
        runs = _layout_runs(layout, wanted, window, max_chars)
        return _spans(conn, _read_rows(conn, sorted(set(runs.values()))), runs)
    bounds: list[list[int]] = []
    for k in sorted(wanted):
        if bounds and k - window <= bounds[-1][1] + 1:
            bounds[-1][1] = k + window
        else:
            bounds.append([k - window, k + window])
    rows = _read_rows(conn, bounds)
    return _spans(conn, rows, _row_runs(rows, wanted, window, max_chars))


def _read_rows(conn: sqlite3.Connection, bounds) -> dict[int, tuple]:
    rows: dict[int, tuple] = {}
    for i in range(0, len(bounds), 400):
        part = bounds[i:i + 400]
        sql = f"SELECT {_ROW_COLUMNS} FROM chunks WHERE " + " OR ".join("vec_id BETWEEN ? AND ?" for _ in part)
        rows.update((r[0], r) for r in conn.execute(sql, [v for b in part for v in b]))
    return rows


def _row_runs(rows: dict[int, tuple], wanted: dict, window: int, max_chars: int) -> dict[int, tuple[int, int]]:
    """{vec_id: (lo, hi)} of the wanted chunks whose section is a short run, from the rows read."""
    runs = {}
    for k, (doc_id, section) in wanted.items():
        def same(v):
            r = rows.get(v)
            return r is not None and r[1] == doc_id and r[2] == section
        run = _run(k, same, window)
        if run is not None:
            lo, hi = run
            part = [rows[v] for v in range(lo, hi + 1)]
            if max(r[4] for r in part) - min(r[3] for r in part) <= max_chars:
                runs[k] = run
    return runs


def _layout_runs(layout: ChunkLayout, wanted: dict, window: int, max_chars: int) -> dict[int, tuple[int, int]]:
    """What `_row_runs` finds, from the layout."""
    runs, size = {}, len(layout.doc)
    for k, (doc_id, section) in wanted.items():
        d, s = layout.docs.get(doc_id), layout.sections.get(section)
        if d is None or s is None:
            continue
        def same(v):
            return 0 <= v < size and layout.doc[v] == d and layout.section[v] == s
        run = _run(k, same, window)
        if run is not None:
            lo, hi = run
            if int(layout.end[lo:hi + 1].max()) - int(layout.start[lo:hi + 1].min()) <= max_chars:
                runs[k] = run
    return runs


def _run(k: int, same, window: int) -> tuple[int, int] | None:
    """The run of neighbours of `k` in its section, if it is two or more chunks inside the window."""
    if not same(k):
        return None
    lo = hi = k
    while lo - 1 >= k - window and same(lo - 1):
        lo -= 1
    while hi + 1 <= k + window and same(hi + 1):
        hi += 1
    if hi == lo or lo - 1 < k - window or hi + 1 > k + window:
        return None  # one chunk, or a run that may reach past the window
    return lo, hi


def _spans(conn: sqlite3.Connection, rows: dict[int, tuple], runs: dict[int, tuple[int, int]]) -> dict[int, ProvisionSpan]:
    out: dict[int, ProvisionSpan] = {}
    made: dict[tuple[int, int], ProvisionSpan] = {}
    sorted_runs = {r: sorted((rows[v] for v in range(r[0], r[1] + 1)), key=lambda row: row[3])
                   for r in set(runs.values())}
    joined = {r: _joined_text(run) for r, run in sorted_runs.items()}
    gaps: dict[str, int] = {}
    for r, text in joined.items():
        if text is None:
            gaps[sorted_runs[r][0][1]] = gaps.get(sorted_runs[r][0][1], 0) + 1
    # A document with several runs to cut from its own text is read once (SQLite reads a whole
    # text value even for a substring of it).
    whole = {d: conn.execute("SELECT text FROM documents WHERE doc_id = ?", (d,)).fetchone()[0]
             for d, n in gaps.items() if n > 1}
    for k, r in runs.items():
        if r not in made:
            run = sorted_runs[r]
            start, end, doc_id = run[0][3], max(row[4] for row in run), run[0][1]
            text = joined[r]
            if text is None and doc_id in whole:
                text = whole[doc_id][start:end]
            elif text is None:  # a gap between its chunks: the document's own text
                text = conn.execute("SELECT substr(text, ?, ?) FROM documents WHERE doc_id = ?",
                                    (start + 1, end - start, doc_id)).fetchone()[0]
            pages = [row[5] for row in run if row[5] is not None]
            ends = [row[6] for row in run if row[6] is not None]
            parts = tuple((row[3], None if row[7] is None else tuple(tuple(sp) for sp in json.loads(row[7])))
                          for row in run)
            priorities, scores = union_tags([(json.loads(row[9]), json.loads(row[10])) for row in run])
            made[r] = ProvisionSpan(start, end, min(pages) if pages else None, max(ends) if ends else None,
                                    text, parts, priorities, scores)
        out[k] = made[r]
    return out


def union_tags(tags) -> tuple[tuple[str, ...], dict[str, float]]:
    """The priorities of a passage made of several chunks ((priorities, scores) of each): every
    priority any of them carries, strongest first, each scored by its best chunk. A user reads the
    whole passage, so its chips name all it is about; on the dev questions the evidence passages
    that carry a gold priority went from .722 to .778 (`priority_agreement`), at the same
    precision."""
    scores: dict[str, float] = {}
    for _priorities, chunk_scores in tags:
        for p, v in (chunk_scores or {}).items():
            scores[p] = max(scores.get(p, 0.0), float(v))
    carried = list(dict.fromkeys(p for priorities, _scores in tags for p in priorities))
    carried.sort(key=lambda p: -scores.get(p, 0.0))
    return tuple(carried), scores


def _joined_text(run) -> str | None:
    """The text of a run of chunk rows (sorted by start) that overlap or touch, from their own texts
    (each is its document's text at [start, end)): reading a long document's text for a substring
    cost a millisecond or more a provision. None when two of them leave a gap."""
    text, end = run[0][8], run[0][4]
    for r in run[1:]:
        if r[3] > end:
            return None
        if r[4] > end:
            text += r[8][end - r[3]:]
            end = r[4]
    return text

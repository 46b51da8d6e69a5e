"""The FTS5 table's terms as postings arrays, written beside the store for the searcher to map.

`search/lexical.py` scores BM25 from postings held in memory (one per token: row and position,
grouped by term). Building them means reading and folding every chunk's terms: about 1.3 s for the
shared corpus's 4,000 chunks, minutes at a million, paid by every process that opens the index (most
of a cold `thb search`). So the writer builds them once, at the end of each ingest, into
`postings-g<generation>/` (numpy files, the folder renamed into place whole), and a searcher maps
them in milliseconds (`np.load(mmap_mode="r")`: pages are read as queries touch them). A searcher
that finds no folder for the store's current generation builds them itself, as before.

Each term also has its postings by row (`term_rows`, `term_tf`: the rows holding it, ascending,
and its occurrences in each; `df` of them per term), so that a top-k search knows a common term's
idf, and so its bound, without reading its postings, and finds its rows and counts without a pass
over its positions (search/maxscore.py). And the rows' tokens in order (`tokens`: term ids, row
after row), so that a phrase is found from its rarest term's postings by reading the tokens beside
each of them.
FORMAT numbers the folder's layout: a folder of another format is not read (the searcher builds the
postings itself, or answers from FTS5 beyond lexical.MAX_CHUNKS) until the next ingest rewrites it.

Tokens are folded the way the table's tokenizer (unicode61, remove_diacritics 2) folds them: lower
case, diacritics off, split at anything that is not a letter or digit.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import store

log = logging.getLogger(__name__)

PREFIX = "postings-g"
_TOKEN_RE = re.compile(r"[^\W_]+")
_ARRAYS = ("rowids", "lengths", "rows", "positions", "bounds", "df", "term_rows", "term_tf", "tokens")
FORMAT = 2  # 2: with the postings by row (df, term_rows, term_tf) and the tokens
_ROW_MEMO = 200_000  # rows whose term ids are kept for reuse by identical rows


def fold(text: str) -> list[str]:
    """Tokens as FTS5's unicode61 tokenizer with remove_diacritics 2 makes them."""
    text = unicodedata.normalize("NFKD", text.lower())
    if not text.isascii():
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _TOKEN_RE.findall(text)


@dataclass(frozen=True)
class Postings:
    """Every token of the table: `rows`/`positions` sorted by (term, row, position); term i's
    postings are [bounds[i], bounds[i + 1])."""

    generation: int
    rowids: np.ndarray     # row index -> FTS rowid (the chunk's vec_id), ascending
    lengths: np.ndarray    # tokens per row
    terms: tuple[str, ...]
    bounds: np.ndarray
    rows: np.ndarray
    positions: np.ndarray
    df: np.ndarray         # term i's rows: the distinct rows of its postings, counted
    term_rows: np.ndarray  # those rows, term by term (term i's are sum(df[:i]) onwards), ascending
    term_tf: np.ndarray    # the term's occurrences in each of them
    tokens: np.ndarray     # term id of every token, row after row (row r's from sum(lengths[:r]))

    def term_spans(self) -> dict[str, tuple[int, int]]:
        bounds = self.bounds.tolist()
        return {t: (bounds[i], bounds[i + 1]) for i, t in enumerate(self.terms)}

    def term_df(self) -> dict[str, int]:
        return dict(zip(self.terms, self.df.tolist()))


def by_row(bounds: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(df, term_rows, term_tf): each term's postings by row (`rows` sorted by term, then row)."""
    first = np.ones(len(rows), dtype=bool)  # a posting that starts a (term, row) run
    first[1:] = rows[1:] != rows[:-1]
    first[bounds[:-1][bounds[:-1] < len(rows)]] = True
    starts = np.flatnonzero(first)
    df = np.diff(np.searchsorted(starts, bounds))
    tf = np.diff(np.r_[starts, len(rows)]).astype(np.int32)
    return df.astype(np.int64), np.asarray(rows[starts], dtype=np.int32), tf


def build(conn: sqlite3.Connection, table: str = "chunks_fts") -> Postings:
    """The postings of the table as the store holds it now (one read snapshot, labelled with its
    generation). Terms are numbered in order of first appearance; each word is folded once, and a
    row whose terms repeat an earlier row's (copies of a document) reuses its term ids."""
    words: dict[str, tuple[int, ...]] = {}
    ids: dict[str, int] = {}
    seen_rows: dict[str, np.ndarray] = {}
    rowids, parts = [], []
    with store.snapshot(conn):
        generation = store.generation(conn) if store.has_table(conn, "meta") else 0
        for fts in store.fts_rows(conn, table):
            text = fts.terms or ""
            row = seen_rows.get(text)
            if row is None:
                tokens: list[int] = []
                for word in text.split():
                    term_ids = words.get(word)
                    if term_ids is None:
                        term_ids = words[word] = tuple(ids.setdefault(t, len(ids)) for t in fold(word))
                    tokens.extend(term_ids)
                row = np.array(tokens, dtype=np.int32)
                if len(seen_rows) < _ROW_MEMO:
                    seen_rows[text] = row
            rowids.append(fts.rowid)
            parts.append(row)
    lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    term_of = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    starts = np.cumsum(lengths) - lengths
    row_of = np.repeat(np.arange(len(parts), dtype=np.int32), lengths)
    pos_of = (np.arange(len(term_of), dtype=np.int64) - np.repeat(starts, lengths)).astype(np.int32)
    order = np.argsort(term_of, kind="stable")
    bounds = np.searchsorted(term_of[order], np.arange(len(ids) + 1)).astype(np.int64)
    rows = row_of[order]
    return Postings(generation, np.asarray(rowids, dtype=np.int64), lengths.astype(np.int32), tuple(ids), bounds,
                    rows, pos_of[order], *by_row(bounds, rows), term_of)


def folder(index_dir: Path, generation: int) -> Path:
    return Path(index_dir) / f"{PREFIX}{generation}"


def write(index_dir: Path, postings: Postings) -> Path:
    """Write the folder for the postings' generation (whole or not at all), then remove the
    folders of other generations. Only the writer (holding the ingest lock) calls this."""
    target = folder(index_dir, postings.generation)
    tmp = Path(index_dir) / f".{target.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name in _ARRAYS:
            np.save(tmp / f"{name}.npy", getattr(postings, name))
        blob = "\x00".join(postings.terms).encode("utf-8")
        np.save(tmp / "terms.npy", np.frombuffer(blob, dtype=np.uint8))
        np.save(tmp / "format.npy", np.array([FORMAT], dtype=np.int64))
        shutil.rmtree(target, ignore_errors=True)
        os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for other in Path(index_dir).glob(f"{PREFIX}*"):
        if other != target:
            shutil.rmtree(other, ignore_errors=True)
    return target


def upgrade(index_dir: Path, generation: int) -> Path | None:
    """Rewrite a folder of format 1 (no postings by row) in this format from its own arrays: seconds
    at a million chunks, where `build` reads the whole store again. For the writer (or an operator)
    with the ingest lock; None when there is no such folder."""
    path = folder(index_dir, generation)
    if not path.is_dir() or (path / "format.npy").is_file():
        return None
    arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r") for name in _ARRAYS[:5]}
    blob = bytes(np.load(path / "terms.npy"))
    terms = tuple(blob.decode("utf-8").split("\x00")) if blob else ()
    bounds = np.asarray(arrays["bounds"])
    df, term_rows, term_tf = by_row(bounds, arrays["rows"])
    starts = np.r_[0, np.cumsum(arrays["lengths"], dtype=np.int64)]
    tokens = np.zeros(int(starts[-1]), dtype=np.int32)
    tokens[starts[arrays["rows"]] + arrays["positions"]] = np.repeat(np.arange(len(terms), dtype=np.int32), np.diff(bounds))
    return write(index_dir, Postings(generation, terms=terms, df=df, term_rows=term_rows, term_tf=term_tf,
                                     tokens=tokens, **arrays))


def load(index_dir: Path, generation: int) -> Postings | None:
    """The written postings of this generation, mapped; None when there are none (or unreadable)."""
    path = folder(index_dir, generation)
    if not path.is_dir():
        return None
    try:
        layout = np.load(path / "format.npy").tolist() if (path / "format.npy").is_file() else [1]
        if layout != [FORMAT]:
            log.info("%s: postings of format %s, not %d: building them from the store", path, layout, FORMAT)
            return None
        arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
        blob = bytes(np.load(path / "terms.npy"))
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable postings (%s): building them from the store", path, exc)
        return None
    terms = tuple(blob.decode("utf-8").split("\x00")) if blob else ()
    if (len(arrays["bounds"]) != len(terms) + 1 or len(arrays["df"]) != len(terms)
            or len(arrays["rowids"]) != len(arrays["lengths"]) or len(arrays["term_rows"]) != len(arrays["term_tf"])
            or len(arrays["tokens"]) != len(arrays["rows"])):
        log.warning("%s: inconsistent postings: building them from the store", path)
        return None
    return Postings(generation, terms=terms, **arrays)

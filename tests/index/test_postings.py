"""BM25 postings written by the writer (index/postings.py) and mapped by the searcher: the same
postings as built from the store, one folder per generation, a damaged one is not trusted.
Subject: the files, not the model: the fake embedder's demo index."""
from __future__ import annotations

import numpy as np

from index import catalog, postings, store
from index.builder import ingest_paths
from search import lexical
from search.engine import Searcher
from tests.conftest import BUNDLED_CORPUS, copy_subset


def _same(a: lexical.LexicalIndex, b: lexical.LexicalIndex) -> bool:
    return (a.terms == b.terms and np.array_equal(a.rowids, b.rowids) and np.array_equal(a.rows, b.rows)
            and np.array_equal(a.positions, b.positions) and np.array_equal(a._norm, b._norm)
            and a.row_spans == b.row_spans and np.array_equal(a.term_rows, b.term_rows)
            and np.array_equal(a.term_tf, b.term_tf) and np.array_equal(a.tokens, b.tokens))


def test_an_ingest_writes_the_postings_of_its_generation(fake_embedder_home):
    settings = fake_embedder_home
    conn = store.connect(settings.index_dir / catalog.DB_NAME, readonly=True)
    generation = store.generation(conn)
    folders = sorted(p.name for p in settings.index_dir.glob(f"{postings.PREFIX}*"))
    assert folders == [f"{postings.PREFIX}{generation}"]
    written = postings.load(settings.index_dir, generation)
    assert isinstance(written.rows, np.memmap)  # mapped, not read
    assert _same(lexical.LexicalIndex.from_postings(written), lexical.LexicalIndex.load(conn))
    assert postings.load(settings.index_dir, generation + 1) is None


def test_the_next_ingest_replaces_them_and_the_searcher_maps_them(fake_embedder_home, tmp_path):
    settings = fake_embedder_home
    extra = copy_subset(tmp_path / "more", ["international/ilo-c029-forced-labour-convention-1930.txt"], source=BUNDLED_CORPUS / "documents")
    summary = ingest_paths(settings.index, [extra])
    assert summary.added == 1, summary
    conn = store.connect(settings.index_dir / catalog.DB_NAME, readonly=True)
    generation = store.generation(conn)
    assert sorted(p.name for p in settings.index_dir.glob(f"{postings.PREFIX}*")) == [f"{postings.PREFIX}{generation}"]
    searcher = Searcher(settings.search)
    assert isinstance(searcher.lexical.rows, np.memmap)
    assert _same(searcher.lexical, lexical.LexicalIndex.load(conn))
    assert searcher.search("trafficking victims").hits


def test_damaged_postings_are_rebuilt_from_the_store(fake_embedder_home):
    settings = fake_embedder_home
    conn = store.connect(settings.index_dir / catalog.DB_NAME, readonly=True)
    folder = postings.folder(settings.index_dir, store.generation(conn))
    (folder / "bounds.npy").write_bytes(b"not numpy")
    searcher = Searcher(settings.search)
    assert not isinstance(searcher.lexical.rows, np.memmap)
    assert _same(searcher.lexical, lexical.LexicalIndex.load(conn))


def test_postings_of_another_format_are_not_read(fake_embedder_home):
    settings = fake_embedder_home
    conn = store.connect(settings.index_dir / catalog.DB_NAME, readonly=True)
    generation = store.generation(conn)
    written = postings.load(settings.index_dir, generation)
    assert np.array_equal(written.df, [len(np.unique(written.rows[a:b])) for a, b in written.term_spans().values()])
    (postings.folder(settings.index_dir, generation) / "format.npy").unlink()  # as format 1 wrote them
    assert postings.load(settings.index_dir, generation) is None
    searcher = Searcher(settings.search)
    assert not isinstance(searcher.lexical.rows, np.memmap)
    assert _same(searcher.lexical, lexical.LexicalIndex.load(conn))


def test_a_folder_of_format_1_is_upgraded_from_its_own_arrays(fake_embedder_home):
    settings = fake_embedder_home
    conn = store.connect(settings.index_dir / catalog.DB_NAME, readonly=True)
    generation = store.generation(conn)
    path = postings.folder(settings.index_dir, generation)
    for name in ("format", "df", "term_rows", "term_tf", "tokens"):  # what format 1 did not write
        (path / f"{name}.npy").unlink()
    assert postings.load(settings.index_dir, generation) is None
    assert postings.upgrade(settings.index_dir, generation) == path
    assert postings.upgrade(settings.index_dir, generation) is None  # once
    assert _same(lexical.LexicalIndex.from_postings(postings.load(settings.index_dir, generation)),
                 lexical.LexicalIndex.load(conn))

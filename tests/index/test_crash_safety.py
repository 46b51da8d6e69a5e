"""Crash safety: a real `thb ingest` process killed (SIGKILL) at several points loses nothing (fake embedder).

THB_TEST_CRASH_AT (index/checkpoint.py) makes the process kill itself with SIGKILL at a point;
THB_TEST_PAUSE_AT makes it wait there, holding the lock, so a second real process can collide.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ui.settings import load_settings
from tests.conftest import FAKE_EMBEDDER_ENV, copy_subset

pytestmark = pytest.mark.slow

BASE = ["legislation/fi-rikoslaki-1177-2014.txt", "legislation/is-almenn-hegningarlog-ch24.txt"]
ADDED = ["international/ilo-c105-abolition-of-forced-labour-convention-1957.txt"]
QUERIES = ["ihmiskauppa", "mansal", "abolition of forced labour", "punishment for trafficking"]
THB = str(Path(sys.executable).with_name("thb"))


def _ingest(home: Path, *paths: Path, **env) -> subprocess.CompletedProcess:
    full = dict(os.environ, THB_HOME=str(home), **env)
    return subprocess.run([THB, "ingest", *map(str, paths)], env=full, capture_output=True, text=True, timeout=300)


def _answers(home: Path) -> dict:
    from search.engine import Searcher

    searcher = Searcher(load_settings(home=home).search)
    return {q: [(h.doc_path, h.chunk_id, round(h.score, 5)) for h in searcher.search(q).hits] for q in QUERIES}


def _consistent(home: Path) -> int:
    """FAISS (as the searcher loads it) and SQLite hold exactly the same ids; returns the count."""
    from index import catalog, store

    settings = load_settings(home=home)
    conn = store.connect(settings.index_dir / catalog.DB_NAME, readonly=True)
    try:
        manifest = catalog.read_manifest(settings.index_dir)
        index = catalog.load_vectors(settings.index, conn, manifest)
        import faiss
        import numpy as np

        faiss_ids = set(faiss.vector_to_array(index.id_map).tolist()) if index.ntotal else set()
        rows = {r[0] for r in conn.execute("SELECT vec_id FROM chunks")}
        fts = {r[0] for r in conn.execute("SELECT rowid FROM chunks_fts")}
        assert faiss_ids == rows == fts
        orphans = conn.execute("SELECT COUNT(*) FROM paths p LEFT JOIN documents d USING (doc_id) "
                               "WHERE d.doc_id IS NULL").fetchone()[0]
        assert orphans == 0
        if rows:  # every FAISS vector is the one SQLite holds for that id
            some = sorted(rows)[:: max(1, len(rows) // 20)]
            stored = dict(conn.execute(f"SELECT vec_id, embedding FROM chunks WHERE vec_id IN "
                                       f"({','.join('?' * len(some))})", some).fetchall())
            for vec_id in some:
                assert np.array_equal(index.reconstruct(int(vec_id)), np.frombuffer(stored[vec_id], dtype=np.float32))
        return len(rows)
    finally:
        conn.close()


@pytest.fixture(scope="module", autouse=True)
def _fake_embedder_module():
    """The fake embedder (conftest FAKE_EMBEDDER_ENV), here and in every `thb` these tests start:
    the subject is the store and its files under kill -9, not the model."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in FAKE_EMBEDDER_ENV.items():
            mp.setenv(key, value)
        yield


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, _fake_embedder_module):
    root = tmp_path_factory.mktemp("crash")
    base = copy_subset(root / "base", BASE)
    added = copy_subset(root / "added", ADDED)
    clean_home = root / "clean-home"
    assert _ingest(clean_home, base, added).returncode == 0
    base_home = root / "base-home"
    assert _ingest(base_home, base).returncode == 0
    return base, added, _answers(clean_home), base_home


def _base_index(corpora, home: Path) -> None:
    """A copy of the index built from BASE only (paths inside it stay valid: same corpus folders)."""
    shutil.copytree(corpora[3], home)


@pytest.mark.parametrize("point", ["embedding", "before_commit", "after_commit", "faiss_write", "before_manifest"])
def test_kill_9_during_ingest_loses_nothing(tmp_path, corpora, point):
    base, added, clean_answers, _ = corpora
    home = tmp_path / "home"
    _base_index(corpora, home)
    before = _answers(home)
    n_before = _consistent(home)

    crashed = _ingest(home, base, added, THB_TEST_CRASH_AT=point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr

    after = _answers(home)
    n_after = _consistent(home)
    if point in ("embedding", "before_commit"):
        assert after == before and n_after == n_before  # the previous index, exactly
    else:  # the transaction committed: the new documents are there, FAISS rebuilt from SQLite
        assert after == clean_answers and n_after > n_before

    again = _ingest(home, base, added)
    assert again.returncode == 0, again.stderr
    assert _answers(home) == clean_answers
    assert not list((home / "index").glob(".*.tmp"))  # temp files of the killed run are cleaned up
    _consistent(home)


def test_two_ingests_at_once_second_refuses(tmp_path, corpora):
    base, added, _, _ = corpora
    home = tmp_path / "home"
    env = dict(os.environ, THB_HOME=str(home), THB_TEST_PAUSE_AT="before_embedding")
    first = subprocess.Popen([THB, "ingest", str(base)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    marker = home / "index" / "paused-at-before_embedding"
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.05)
        second = _ingest(home, added)
        assert second.returncode == 1
        last = _message(second.stderr)
        assert last.startswith("thb: error: another ingest is running on ") and last.endswith("wait for it to finish")
    finally:
        marker.unlink(missing_ok=True)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert _ingest(home, added).returncode == 0  # the lock is free again


@pytest.mark.parametrize("key,value", [("model", "other-model-v9"), ("dimension", 768), ("schema_version", 99)])
def test_index_from_another_model_dimension_or_schema_is_refused(tmp_path, corpora, key, value):
    base = corpora[0]
    home = tmp_path / "home"
    _base_index(corpora, home)
    manifest_path = home / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest[key] = value
    manifest_path.write_text(json.dumps(manifest))
    for args in (["search", "trafficking"], ["ingest", str(base)])[: 2 if key == "model" else 1]:
        run = subprocess.run([THB, *args], env=dict(os.environ, THB_HOME=str(home)), capture_output=True, text=True)
        assert run.returncode == 1
        assert _message(run.stderr) == (f"thb: error: index in {home / 'index'} was built with {key}={value!r}, "
                                      f"settings say {_want(key)!r}: run "
                                      f"`thb ingest --rebuild PATH...` (THB_HOME={home}) to rebuild it")
    if key != "model":
        return
    rebuilt = subprocess.run(
        [THB, "ingest", "--rebuild", str(base)], env=dict(os.environ, THB_HOME=str(home)), capture_output=True, text=True)
    assert rebuilt.returncode == 0, rebuilt.stderr


def _message(stderr: str) -> str:
    """The CLI's one-line error; the model loader's progress bar may come before it (see report)."""
    lines = [ln for ln in stderr.strip().splitlines() if not ln.startswith("Loading weights")]
    assert len(lines) == 1, stderr
    return lines[0]


def _want(key):
    from index import store
    from index.embedder import model_dimension

    settings = load_settings()
    return {"model": settings.index.model_name, "dimension": model_dimension(settings.index.model_name),
            "schema_version": store.SCHEMA_VERSION}[key]


def test_store_with_newer_schema_is_refused_even_without_manifest(tmp_path, corpora):
    import sqlite3

    home = tmp_path / "home"
    _base_index(corpora, home)
    (home / "index" / "manifest.json").unlink()
    conn = sqlite3.connect(home / "index" / "thb.sqlite")
    conn.execute("UPDATE meta SET value='7' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    run = subprocess.run([THB, "search", "trafficking"], env=dict(os.environ, THB_HOME=str(home)),
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert "has store schema_version=7" in run.stderr and "thb ingest --rebuild" in run.stderr

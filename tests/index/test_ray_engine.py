"""`--engine ray` (index/distributed.py) on a local 2-CPU Ray cluster started by the test: the same
files give the same index as the local engine (same chunk rows, vectors within 1e-5), a bad file is
reported and skipped, and the CLI takes the flags. Real models, real Ray, real FAISS and SQLite."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import catalog, store
from index.builder import ingest_paths
from ui.settings import load_settings
from tests.conftest import copy_subset

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]' (scripts/test.sh does)")

FILES = ["legislation/is-almenn-hegningarlog-ch24.txt", "international/ilo-c105-abolition-of-forced-labour-convention-1957.txt",
         "legislation/lv-kriminallikums-ch15.txt"]
COLUMNS = ("chunk_id, doc_id, ordinal, start, end, page_start, page_end, section, paragraph, language, text, "
           "priorities, sentences")


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _rows(home: Path):
    conn = store.connect(home / "index" / catalog.DB_NAME, readonly=True)
    try:
        rows = [tuple(r) for r in conn.execute(f"SELECT {COLUMNS} FROM chunks ORDER BY vec_id")]
        vecs = [(np.frombuffer(r[0], np.float32), np.frombuffer(r[1], np.float32))
                for r in conn.execute("SELECT embedding, ml_embedding FROM chunks ORDER BY vec_id")]
        docs = [tuple(r) for r in conn.execute("SELECT doc_id, title, country, language, text FROM documents ORDER BY doc_id")]
    finally:
        conn.close()
    return rows, vecs, docs


def test_ray_engine_builds_the_same_index_as_the_local_one(tmp_path, cluster):
    corpus = copy_subset(tmp_path / "corpus", FILES)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    local = ingest_paths(load_settings(home=tmp_path / "local").index, [corpus])
    distributed = ingest_paths(load_settings(home=tmp_path / "ray").index, [corpus], engine="ray")
    assert (distributed.added, distributed.chunks) == (local.added, local.chunks) == (3, local.chunks)
    assert [p for p, _r in distributed.failed] == [p for p, _r in local.failed] == [str(corpus / "broken.pdf")]
    rows_local, vecs_local, docs_local = _rows(tmp_path / "local")
    rows_ray, vecs_ray, docs_ray = _rows(tmp_path / "ray")
    assert rows_ray == rows_local and docs_ray == docs_local
    for (a, b), (c, d) in zip(vecs_local, vecs_ray):
        assert np.abs(a - c).max() <= 1e-5 and np.abs(b - d).max() <= 1e-5
    manifest = catalog.read_manifest(tmp_path / "ray" / "index")
    assert manifest["counts"] == catalog.read_manifest(tmp_path / "local" / "index")["counts"]

    again = ingest_paths(load_settings(home=tmp_path / "ray").index, [corpus], engine="ray")  # nothing new
    assert again.added == 0 and again.unchanged == 3


def test_cli_ingest_with_engine_ray(tmp_path):
    corpus = copy_subset(tmp_path / "corpus", FILES[:1])
    env = dict(os.environ, THB_HOME=str(tmp_path / "home"))
    thb = str(Path(sys.executable).with_name("thb"))
    run = subprocess.run([thb, "ingest", str(corpus), "--engine", "ray", "--json"], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["added"] == 1
    bad = subprocess.run([thb, "ingest", str(corpus), "--engine", "spark"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "spark" in bad.stderr

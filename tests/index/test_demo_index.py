"""The demo index (conftest `demo_index`) is what it says: four real bundled files, indexed with the
fake embedder (THB_ENCODER=test-hash, no multilingual encoder), so the tests that use it never pay
for, nor silently depend on, the real models."""
from __future__ import annotations

import json
import sqlite3

from tests.conftest import DEMO_FILES


def test_the_demo_index_is_built_with_the_fake_embedder_from_the_demo_files(fake_embedder_home):
    manifest = json.loads((fake_embedder_home.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["encoder"] == "test-hash" and manifest["multilingual"] is None
    assert fake_embedder_home.index.encoder == "test-hash" and fake_embedder_home.index.multilingual == "off"
    with sqlite3.connect(fake_embedder_home.index_dir / "thb.sqlite") as conn:
        paths = sorted(r[0] for r in conn.execute("SELECT doc_path FROM paths"))
        assert conn.execute("SELECT COUNT(*) FROM chunks WHERE ml_embedding IS NOT NULL").fetchone()[0] == 0
    assert paths == sorted(DEMO_FILES) and manifest["counts"]["documents"] == len(DEMO_FILES)


def test_each_test_gets_its_own_copy(fake_embedder_home, demo_index):
    assert fake_embedder_home.home != demo_index
    (fake_embedder_home.index_dir / "thb.sqlite").unlink()
    assert (demo_index / "index" / "thb.sqlite").is_file()  # the template is untouched

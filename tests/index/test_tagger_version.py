"""An ingest into an index whose chunks another tagger tagged (a new taxonomy or tagging rule since)
says so in one line with the command that makes the tags agree. Subject: the store and the ingest
summary, not tagging quality: the fake embedder's demo index (conftest)."""
from __future__ import annotations

import json
import logging

import pytest

from index import catalog, store
from index.builder import ingest_paths
from tests.conftest import BUNDLED_CORPUS, copy_subset

pytestmark = pytest.mark.slow  # an ingest each: 4-5 s a test


def _set_tagger(settings, version: str) -> None:
    conn = store.connect(settings.index.index_dir / catalog.DB_NAME)
    try:
        with store.transaction(conn):
            store.set_meta(conn, "tagger", json.dumps({"taxonomy": "t", "method": "m", "version": version}))
    finally:
        conn.close()


def _ingest(settings, tmp_path, name: str, rel: str, caplog) -> list[str]:
    corpus = copy_subset(tmp_path / name, [rel], source=BUNDLED_CORPUS / "documents")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="index.builder"):
        summary = ingest_paths(settings.index, [corpus])
    assert summary.added == 1 and not summary.failed
    return [r.getMessage() for r in caplog.records if "thb retag" in r.getMessage()]


def test_new_documents_tagged_by_another_tagger_than_the_index_say_so(fake_embedder_home, tmp_path, caplog):
    _set_tagger(fake_embedder_home, "cbss-tf-thb-2020-2025/similarity+terms-000000000000")
    lines = _ingest(fake_embedder_home, tmp_path, "a", "international/ilo-c029-forced-labour-convention-1930.txt", caplog)
    assert len(lines) == 1 and "similarity+terms-000000000000" in lines[0]
    assert str(fake_embedder_home.index.index_dir) in lines[0]


def test_the_same_tagger_says_nothing(fake_embedder_home, tmp_path, caplog):
    assert not _ingest(fake_embedder_home, tmp_path, "b", "international/ilo-c029-forced-labour-convention-1930.txt",
                       caplog)

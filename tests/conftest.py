"""Shared fixtures: an isolated data home per test, one real index built per session, and a
small index built with the fake embedder (THB_ENCODER=test-hash) for tests whose subject is not the model.

The session index is built from real files of ../shared/corpus (legislation in four languages,
treaties, PDFs, the strategic plans) with the real model, FAISS and SQLite. Tests that need
../shared/corpus are skipped, with the reason printed, when it is absent.
"""
from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from ui.settings import load_settings

PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared"
SHARED_CORPUS = SHARED / "corpus"
BUNDLED_CORPUS = PROJECT / "corpus"

# A subset that covers every format and the provisions the tests name, small enough to embed once.
SESSION_FILES = [
    "international/coe-cets197-convention-action-against-trafficking.txt",
    "international/un-palermo-trafficking-protocol-2000.txt",
    "international/ilo-c029-forced-labour-convention-1930.txt",
    "legislation/de-stgb-strafgesetzbuch.txt",
    "legislation/de-aufenthg-2004-excerpt-s25-s59.txt",
    "legislation/de-lksg-lieferkettensorgfaltspflichtengesetz.txt",
    "legislation/no-straffeloven-2005.txt",
    "legislation/se-brottsbalken-1962-700-excerpt-4kap-6kap.txt",
    "legislation/fi-rikoslaki-1177-2014.txt",
    "legislation/pl-kodeks-karny-excerpt.txt",
    "legislation/lv-kriminallikums-ch15.txt",
    "legislation/is-almenn-hegningarlog-ch24.txt",
    "taskforce/cbss-tf-thb-strategic-plan-2020-2025.txt",
    "taskforce/cbss-tf-thb-strategic-plan-2012-2014.txt",
    "pdf/fbi-ucr-human-trafficking-2014.pdf",
    "pdf/unodc-human-trafficking-indicators.pdf",
    "pdf/walkfree-slavery-alert-consumer-poll-us-2015.pdf",
]


def require_shared_corpus() -> Path:
    if not (SHARED_CORPUS / "manifest.tsv").is_file():
        pytest.skip(f"input absent: {SHARED_CORPUS} (the shared test corpus) is not beside the repository")
    return SHARED_CORPUS


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own THB_HOME, so nothing touches a user's index."""
    home = tmp_path / "thb-home"
    monkeypatch.setenv("THB_HOME", str(home))
    return home


def copy_subset(target: Path, files: list[str], source: Path | None = None) -> Path:
    """Copy some corpus files (keeping their relative paths) with their manifest rows; from the
    shared corpus unless `source` names another corpus folder with a manifest.tsv."""
    source = source or require_shared_corpus()
    target.mkdir(parents=True, exist_ok=True)
    with (source / "manifest.tsv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        rows = [r for r in reader if r["path"] in files]
        fields = reader.fieldnames
    with (target / "manifest.tsv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    for rel in files:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, target / rel)
    return target


@pytest.fixture(scope="session")
def session_corpus(tmp_path_factory) -> Path:
    return copy_subset(tmp_path_factory.mktemp("corpus"), SESSION_FILES)


@pytest.fixture(scope="session")
def session_settings(tmp_path_factory, session_corpus):
    """Settings of a real index over the session corpus, built once (the slow part of the suite)."""
    from index.builder import ingest_paths

    settings = load_settings(home=tmp_path_factory.mktemp("session-home"))
    prebuilt = os.environ.get("THB_TEST_SESSION_HOME")  # a home already ingested from SESSION_FILES
    if prebuilt:  # (on a loaded machine the build takes most of a test run); copied, never written
        shutil.copytree(prebuilt, settings.home, dirs_exist_ok=True)
    summary = ingest_paths(settings.index, [session_corpus])  # with a prebuilt home: same bytes, no re-embedding
    assert not summary.failed, summary.failed
    return settings


@pytest.fixture(scope="session")
def searcher(session_settings):
    from search.engine import Searcher

    return Searcher(session_settings.search)


# --- The fake embedder (in the spirit of simonw/llm's `embed-demo` model) ------------------------
# THB_ENCODER=test-hash (index/embedder.py) gives each text a deterministic vector from hashes of its
# words, with no model; THB_MULTILINGUAL=off skips the e5 encoder. For tests whose subject is the
# store, the CLI's shape, crash safety or reliability: never for retrieval, ranking or tagging quality.
FAKE_EMBEDDER_ENV = {"THB_ENCODER": "test-hash", "THB_MULTILINGUAL": "off"}
# Real files from the bundled corpus (always in the repository): two plans and two treaties.
DEMO_FILES = [
    "taskforce/cbss-tf-thb-strategic-plan-2012-2014.txt",
    "taskforce/cbss-tf-thb-strategic-plan-2020-2025.txt",
    "international/un-palermo-trafficking-protocol-2000.txt",
    "international/ilo-c105-abolition-of-forced-labour-convention-1957.txt",
]
SESSION_FIXTURES = frozenset({"session_settings", "searcher", "session_corpus"})


@pytest.fixture
def fake_embedder(monkeypatch):
    """This test's index is built and searched with the fake embedder, not the real models."""
    for key, value in FAKE_EMBEDDER_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory) -> Path:
    """A data home indexed once with the fake embedder from DEMO_FILES; a template, never written:
    tests take a copy through `fake_embedder_home`."""
    from index.builder import ingest_paths

    corpus = copy_subset(tmp_path_factory.mktemp("demo-corpus"), DEMO_FILES, source=BUNDLED_CORPUS / "documents")
    home = tmp_path_factory.mktemp("demo-home")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in FAKE_EMBEDDER_ENV.items():
            mp.setenv(key, value)
        mp.setenv("THB_HOME", str(home))
        summary = ingest_paths(load_settings(home=home).index, [corpus])
    assert not summary.failed and summary.added == len(DEMO_FILES), summary
    return home


@pytest.fixture
def fake_embedder_home(fake_embedder, isolated_home, demo_index):
    """Settings of this test's own copy of the demo index (THB_HOME points at it), fake embedder on."""
    shutil.copytree(demo_index, isolated_home, dirs_exist_ok=True)
    return load_settings(home=isolated_home)


def pytest_collection_modifyitems(config, items):
    """The session index is built with the real encoders: a test that needs it must be marked slow."""
    fast = [item.nodeid for item in items
            if SESSION_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("slow")]
    if fast:
        raise pytest.UsageError("tests using the real session index must be @pytest.mark.slow:\n  " + "\n  ".join(fast))


@pytest.fixture(scope="session")
def demo_searcher(tmp_path_factory, demo_index):
    """A Searcher over a copy of the demo index, with the fake embedder: for tests of query handling."""
    from search.engine import Searcher

    home = tmp_path_factory.mktemp("demo-search-home")
    shutil.copytree(demo_index, home, dirs_exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in FAKE_EMBEDDER_ENV.items():
            mp.setenv(key, value)
        settings = load_settings(home=home)
    assert settings.index.encoder == "test-hash"
    return Searcher(settings.search)

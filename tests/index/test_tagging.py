"""The tagger on real corpus passages in four languages, with the real model; re-tagging without re-embedding."""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import SHARED, require_shared_corpus

pytestmark = pytest.mark.slow  # tagging quality: the real models

TAXONOMY_DIR = Path(__file__).resolve().parents[2] / "corpus" / "taxonomy"


@pytest.fixture(scope="module")
def tagger(session_settings):
    from index.tagging import load_tagger

    return load_tagger(session_settings.index)


def passage(rel: str, start: str, n_chars: int = 700) -> str:
    """A passage of a shared-corpus file, from the first occurrence of `start`."""
    text = (require_shared_corpus() / rel).read_text(encoding="utf-8")
    i = text.index(start)
    return " ".join(text[i:i + n_chars].split())


CLEAR_CUT = [
    ("international/coe-cets197-convention-action-against-trafficking.txt",
     "To discourage the demand that fosters", "demand"),
    ("legislation/de-lksg-lieferkettensorgfaltspflichtengesetz.txt", "§ 3 Sorgfaltspflichten", "labour_exploitation"),
    ("legislation/se-brottsbalken-1962-700-excerpt-4kap-6kap.txt",
     "Den som, i annat fall än som avses förut i detta kapitel, förmår en person att mot ersättning", "demand"),
    ("legislation/no-straffeloven-2005.txt", "Med bot eller fengsel inntil 6 år straffes den som\n\na. fremmer andres",
     "sexual_exploitation"),
    ("legislation/de-stgb-strafgesetzbuch.txt", "§ 232b Zwangsarbeit", "labour_exploitation"),
]


@pytest.mark.parametrize("rel, start, expected", CLEAR_CUT, ids=[c[2] + ":" + c[0].split("/")[1][:14] for c in CLEAR_CUT])
def test_clear_cut_passage_gets_its_priority(tagger, rel, start, expected):
    prios, scores = tagger.score_text(passage(rel, start))
    assert expected in prios, (prios, scores)
    assert set(scores) == set(tagger.ids)


PROCEDURAL = [
    ("international/coe-cets197-convention-action-against-trafficking.txt",
     "2.  This Convention is subject to ratification, acceptance or approval."),
    ("international/un-palermo-trafficking-protocol-2000.txt",
     "3.   This Protocol is subject to ratification, acceptance or approval."),
]


@pytest.mark.parametrize("rel, start", PROCEDURAL, ids=["cets197", "palermo"])
def test_procedural_treaty_clause_gets_no_priority(tagger, rel, start):
    prios, scores = tagger.score_text(passage(rel, start, 400))
    assert prios == [], scores


def test_given_vectors_are_used_not_recomputed(tagger):
    import numpy as np

    text = passage("international/coe-cets197-convention-action-against-trafficking.txt",
                   "To discourage the demand that fosters")
    vec = tagger.embedder.embed_batch([text])
    assert tagger.score_texts([text], vec) == tagger.score_texts([text], None)
    zero = np.zeros_like(vec)
    _prios, scores = tagger.score_texts([text], zero)[0]
    assert scores != tagger.score_texts([text], vec)[0][1]


def test_macro_f1_on_priority_dev_meets_target(tagger):
    from ui.cli_tag import priority_metrics

    path = SHARED / "eval" / "priority_dev.jsonl"
    if not path.is_file():
        pytest.skip(f"input absent: {path}")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    predicted = [p for p, _s in tagger.score_texts([r["text"] for r in rows], None)]
    metrics = priority_metrics([r["priorities"] for r in rows], predicted, tagger.ids)
    assert metrics["macro_f1"] >= 0.75, metrics


def _chunk_rows(settings):
    conn = sqlite3.connect(settings.index_dir / "thb.sqlite")
    try:
        return {r[0]: (r[1], r[2], r[3]) for r in conn.execute(
            "SELECT chunk_id, priorities, embedding, text FROM chunks")}
    finally:
        conn.close()


def test_ingest_stores_tags_and_retag_switches_taxonomy_without_reembedding(session_settings, tmp_path):
    import shutil

    from index.tagging import retag_index

    settings = session_settings.replace(home=tmp_path / "copy")
    shutil.copytree(session_settings.index_dir, settings.index_dir)
    before = _chunk_rows(settings)
    demand = [json.loads(p) for p, _e, t in before.values() if "To discourage the demand that fosters" in t]
    assert demand and all("demand" in p for p in demand)

    old = TAXONOMY_DIR / "cbss-tf-thb-2012-2014.toml"
    assert retag_index(settings.index, old) == len(before)
    after = _chunk_rows(settings)
    assert {k: v[1] for k, v in after.items()} == {k: v[1] for k, v in before.items()}  # same embeddings
    old_ids = {"labour_exploitation", "labour_migration_nexus", "national_stakeholder_cooperation",
               "data_collection", "diplomatic_consular_training"}
    tags = [set(json.loads(v[0])) for v in after.values()]
    assert all(t <= old_ids for t in tags)
    assert any("labour_exploitation" in t for t in tags)
    conn = sqlite3.connect(settings.index_dir / "thb.sqlite")
    assert conn.execute("SELECT value FROM meta WHERE key='taxonomy'").fetchone()[0] == "cbss-tf-thb-2012-2014"
    conn.close()

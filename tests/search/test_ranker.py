"""The learned ranker (search/ranker.py, search/ranker_training.py): its setting, its weights file,
and a whole train -> cross-validate -> rank round on a real treaty.

Encoder: test-hash (index/embedder.py), a deterministic stand-in marked as such: the subject is the
features, the training loop and the weights, not the model. Files, roles, FAISS, SQLite and
scikit-learn are real."""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from index.builder import ingest_paths
from ingest.errors import SettingsError
from search.engine import Searcher
from search.evaluation import EvalQuery
from search.ranker import FEATURES, LearnedRanker
from search.ranker_training import labels, train
from search.settings import SearchSettings
from tests.conftest import copy_subset
from ui.settings import load_settings

TREATY = "international/coe-cets197-convention-action-against-trafficking.txt"


def test_an_unknown_ranker_is_refused_with_the_choices():
    with pytest.raises(SettingsError, match="fusion, learned"):
        SearchSettings(ranker="lambdamart")


def test_weights_round_trip_and_refuse_other_features(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((200, len(FEATURES)))
    y = (x[:, 0] + 0.1 * rng.random(200) > 0.6).astype(int)
    model = LearnedRanker.fit(x, y, meta={"version": "test"})
    path = tmp_path / "w.json"
    model.save(path)
    again = LearnedRanker.load(path)
    assert np.allclose(again.probabilities(x), model.probabilities(x), atol=1e-4)
    assert again.coef[0] > 0  # the feature that decides the label weighs most
    assert again.meta["version"] == "test"
    path.write_text(path.read_text().replace('"first_stage"', '"renamed"'))
    with pytest.raises(ValueError, match="train-ranker"):
        LearnedRanker.load(path)


@pytest.fixture
def treaty(tmp_path, monkeypatch):
    monkeypatch.setenv("THB_ENCODER", "test-hash")
    monkeypatch.setenv("THB_MULTILINGUAL", "off")
    corpus = copy_subset(tmp_path / "corpus", [TREATY])
    settings = load_settings(home=tmp_path / "home")
    assert not ingest_paths(settings.index, [corpus], tagger=False).failed
    return settings, (corpus / TREATY).read_text(encoding="utf-8")


def _article_queries(text: str) -> list[EvalQuery]:
    """Ten queries, each an article's title, with that article's first sentence as evidence."""
    out = []
    for n in (4, 5, 6, 10, 12, 14, 18, 19, 26, 28):
        m = re.search(rf"^Article\s+{n}\s*\n+(.+)\n+(.+)", text, re.M)
        assert m, n
        out.append(EvalQuery(f"q{n}", m.group(1).strip(), "instrument",
                             ({"path": TREATY, "evidence": m.group(2)[:200], "grade": 2},)))
    return out


@pytest.mark.slow  # a 5-fold training over the treaty's article questions: 12 s
def test_train_cross_validates_and_the_model_ranks(treaty):
    settings, text = treaty
    queries = _article_queries(text)
    searcher = Searcher(settings.search)
    result = train(searcher, queries)
    assert set(result.table) == {"fusion", "learned (5-fold CV)", "learned (in-sample)"}
    assert 0 < result.positives < result.candidates
    assert result.model.meta["version"] == "ranker-v1" and "evaluation" in result.model.meta
    probabilities, y = result.cv_probabilities
    assert len(probabilities) == len(y) == result.candidates
    assert probabilities[y == 1].mean() > probabilities[y == 0].mean()  # held out, it still tells them apart
    searcher.learned = result.model
    searcher.settings = dataclasses.replace(settings.search, ranker="learned")
    hits = searcher.search(queries[0].query).hits
    assert hits and labels(queries[0], hits).size == len(hits)

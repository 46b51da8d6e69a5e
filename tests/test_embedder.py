"""The ingest's embedding step: sorted by length for padding, rows back in input order."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from index.builder import _embed, _Plan


class FakeEmbedder:
    """Encodes a text as its length, and records the batches it was given."""

    dimension = 2

    def __init__(self):
        self.batches = []

    def embed_batch(self, texts):
        self.batches.append(list(texts))
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_embed_sorts_all_chunks_by_length_and_keeps_input_order():
    texts = ["x" * n for n in (5, 300, 1, 40, 7) * 120]
    plan = _Plan(new_docs=[(None, None, [SimpleNamespace(embedding_text=t) for t in texts], {})])
    fake = FakeEmbedder()
    vecs = _embed(fake, plan, None)
    assert vecs[:, 0].tolist() == [len(t) for t in texts]
    flat = [len(t) for batch in fake.batches for t in batch]
    assert flat == sorted(flat) and [len(b) for b in fake.batches] == [256, 256, 88]

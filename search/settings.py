"""The search stage's settings: how candidates are retrieved, fused and shown."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from index.settings import IndexSettings
from ingest.errors import SettingsError
from ingest.settings import BUNDLED_CORPUS

DEFAULT_GLOSSARY = BUNDLED_CORPUS / "glossary" / "thb-glossary.toml"
FUSIONS = ("convex", "rrf", "dense", "lexical")  # search/ranking.py
RANKERS = ("fusion", "learned")  # the hand-set fusion (search/ranking.py) or the learned ranker (search/ranker.py)


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """Retrieval and ranking. Carries the index slice it reads from."""

    top_k: int = 10
    candidates: int = 100
    lexical_weight: float = 0.5
    fusion: str = "convex"  # convex | rrf | dense | lexical
    use_glossary: bool = True
    country_boost: float = 0.5
    max_hits_per_doc: int = 3
    highlight: bool = True
    multilingual_weight: float = 0.6  # the multilingual encoder's share of the dense side, MiniLM's is the rest
    lexical_in_memory: bool = True  # BM25 from postings held in memory (search/lexical.py), else from FTS5
    ranker: str = "fusion"  # fusion | learned (THB_RANKER)
    glossary: Path = DEFAULT_GLOSSARY
    index: IndexSettings = field(default_factory=IndexSettings)

    def __post_init__(self):
        if self.fusion not in FUSIONS:
            raise SettingsError(f"unknown fusion {self.fusion!r} (THB_FUSION); choose from {', '.join(FUSIONS)}")
        if self.ranker not in RANKERS:
            raise SettingsError(f"unknown ranker {self.ranker!r} (THB_RANKER); choose from {', '.join(RANKERS)}")
        if not 1 <= self.top_k <= 1000:
            raise SettingsError(f"top_k must be 1-1000 (THB_TOP_K), not {self.top_k}")

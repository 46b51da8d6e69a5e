"""The ingest stage's settings: how files are read and cut into chunks.

Each stage owns its slice (ingest < index < search, each carrying the one to its left); the one
loader, which reads defaults < settings file < THB_* environment < flags, is ui/settings.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = PROJECT_ROOT / "corpus"


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """Reading and chunking. Field names double as THB_<NAME> environment variables."""

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

    def __post_init__(self):
        from ingest.ocr import check_mode
        from ingest.pipeline import check_follow_symlinks

        check_mode(self.ocr)
        check_follow_symlinks(self.follow_symlinks)

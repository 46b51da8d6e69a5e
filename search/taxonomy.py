"""Taxonomy loading for the search stage: a re-export of ingest.taxonomy (the stage that owns it)."""
from __future__ import annotations

from ingest.taxonomy import Priority, Taxonomy, TaxonomyError, load_taxonomy

__all__ = ["Priority", "Taxonomy", "TaxonomyError", "load_taxonomy"]

"""Thematic-priority tagging of chunks (placeholder until the tagger lands)."""
from __future__ import annotations


def load_tagger(settings):
    """The tagger for settings.taxonomy, or None when tagging is not available."""
    return None

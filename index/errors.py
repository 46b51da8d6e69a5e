"""Errors an index raises; the CLI and the app turn them into one-line messages."""
from __future__ import annotations

from ingest.errors import ThbError


class IndexMismatch(ThbError):
    """The index on disk was built with another model, dimension or schema."""


class IndexBusy(ThbError):
    """Another ingest holds the index lock."""


class DiskFull(ThbError):
    """The disk that holds the index has no room left; the previous index is kept."""


class IndexDamaged(ThbError):
    """The index store on disk is corrupt or truncated; it is left as it is for a rebuild."""

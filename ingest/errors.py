"""Error classes shared by every stage; the CLI and the app turn them into one-line messages."""


class ThbError(Exception):
    """Base class: a problem the user can act on, reported in one line."""


class UnreadableDocument(ThbError):
    """A file could not be read as a document (corrupt, encrypted, empty, binary, too large...)."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class ManifestError(ThbError):
    """A manifest.tsv is malformed or names files that are missing."""


class IndexMismatch(ThbError):
    """The index on disk was built with another model, dimension or schema."""


class IndexBusy(ThbError):
    """Another ingest holds the index lock."""


class UsageError(ThbError):
    """The user asked for something that cannot be done as asked."""


class SettingsError(ThbError, ValueError):
    """A setting holds a value this version cannot use (an unknown encoder, say)."""


class DiskFull(ThbError):
    """The disk that holds the index has no room left; the previous index is kept."""


class IndexDamaged(ThbError):
    """The index store on disk is corrupt or truncated; it is left as it is for a rebuild."""

"""Error classes of ingest, and the base every stage's errors share; the CLI and the app turn them
into one-line messages. The index's own errors are in index/errors.py."""


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


class UsageError(ThbError):
    """The user asked for something that cannot be done as asked."""


class SettingsError(ThbError, ValueError):
    """A setting holds a value this version cannot use (an unknown encoder, say)."""

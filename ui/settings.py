"""The one settings loader: defaults < $THB_HOME/settings.toml < THB_* environment < flags.

Each stage owns its slice: `IngestSettings` (ingest/), `IndexSettings` (index/, carrying the
ingest slice), `SearchSettings` (search/, carrying the index slice). `Settings` holds them all,
plus what only the app reads. A setting's name is the same in every layer: `chunk_tokens` in
settings.toml, `THB_CHUNK_TOKENS` in the environment, `chunk_tokens=` as a flag.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from index.settings import IndexSettings
from ingest.errors import SettingsError
from ingest.settings import IngestSettings
from search.settings import SearchSettings


@dataclass(frozen=True, slots=True)
class Settings:
    """Every stage's settings. Pass each stage its own slice: `.index` to index/, `.search` to search/."""

    search: SearchSettings = field(default_factory=SearchSettings)
    # Host names the app answers besides localhost, 127.0.0.1, [::1] and the address it binds to
    # (comma-separated; "*" for any): a Host-header check against DNS rebinding.
    allowed_hosts: str = ""

    @property
    def index(self) -> IndexSettings:
        return self.search.index

    @property
    def ingest(self) -> IngestSettings:
        return self.search.index.ingest

    @property
    def home(self) -> Path:
        return self.index.home

    @property
    def index_dir(self) -> Path:
        return self.index.index_dir

    @property
    def uploads_dir(self) -> Path:
        return self.index.home / "uploads"

    def replace(self, **changes) -> "Settings":
        """A copy with some settings changed, by their flat names; None values are ignored (unset flags)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise SettingsError(f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(FIELDS))}")
        ingest = _replace(self.ingest, IngestSettings, changes)
        index = _replace(self.index, IndexSettings, changes, ingest=ingest)
        search = _replace(self.search, SearchSettings, changes, index=index)
        app = {k: _coerce(getattr(self, k), v) for k, v in changes.items() if k in _APP_FIELDS}
        return dataclasses.replace(self, search=search, **app)


_NESTED = {"ingest", "index", "search"}
_APP_FIELDS = {f.name for f in fields(Settings)} - _NESTED
# Every setting's flat name -> the slice that owns it.
FIELDS: dict[str, type] = {
    **{f.name: IngestSettings for f in fields(IngestSettings)},
    **{f.name: IndexSettings for f in fields(IndexSettings) if f.name not in _NESTED},
    **{f.name: SearchSettings for f in fields(SearchSettings) if f.name not in _NESTED},
    **{name: Settings for name in _APP_FIELDS},
}


def _replace(current, kind: type, changes: dict, **nested):
    mine = {k: _coerce(getattr(current, k), v) for k, v in changes.items() if FIELDS[k] is kind}
    return dataclasses.replace(current, **mine, **nested) if mine or any(
        getattr(current, k) is not v for k, v in nested.items()) else current


def _coerce(current, value):
    kind = type(current)
    if isinstance(value, kind):
        return value
    if kind is bool:
        return str(value).strip().lower() in {"1", "true", "yes", "on"}
    if issubclass(kind, Path):
        return Path(value).expanduser()
    try:
        return kind(value)
    except ValueError as exc:
        raise SettingsError(f"setting value {value!r} is not a {kind.__name__}") from exc


def load_settings(**flags) -> Settings:
    """Build the settings: defaults, then $THB_HOME/settings.toml, then THB_* variables, then flags."""
    env = {name: os.environ[f"THB_{name.upper()}"] for name in FIELDS if f"THB_{name.upper()}" in os.environ}
    base = Settings()
    home = Path(flags.get("home") or env.get("home") or base.home).expanduser()
    file_values = {}
    settings_file = home / "settings.toml"
    if settings_file.is_file():
        with settings_file.open("rb") as fh:
            file_values = {k: v for k, v in tomllib.load(fh).items() if k in FIELDS}
    return base.replace(**file_values).replace(**env).replace(**flags).replace(home=home)

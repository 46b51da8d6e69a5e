"""Settings precedence: defaults < $THB_HOME/settings.toml < THB_* environment < flags.

The one loader is ui/settings.py (docs/architecture.md); each stage reads its own slice.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from ui.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def _no_thb_environment(monkeypatch):
    """Only THB_HOME (conftest) and what a test sets: a THB_* of the calling shell must not leak in."""
    for key in [k for k in os.environ if k.startswith("THB_") and k != "THB_HOME"]:
        monkeypatch.delenv(key)


def _write(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.toml").write_text(text, encoding="utf-8")


def test_each_layer_overrides_the_one_before(isolated_home, monkeypatch):
    defaults = Settings()
    _write(isolated_home, "overlap_tokens = 30\nlexical_weight = 0.1\ncandidates = 50\nuse_glossary = false\n")
    monkeypatch.setenv("THB_LEXICAL_WEIGHT", "0.2")
    monkeypatch.setenv("THB_CANDIDATES", "60")
    monkeypatch.setenv("THB_FUSION", "rrf")
    settings = load_settings(candidates=70)
    assert settings.home == isolated_home  # THB_HOME names the home, and so the settings file
    assert settings.ingest.chunk_tokens == defaults.ingest.chunk_tokens == 200  # set nowhere: the default
    assert settings.ingest.overlap_tokens == 30  # file only
    assert settings.search.use_glossary is False  # file only, a TOML boolean
    assert settings.search.lexical_weight == 0.2 and isinstance(settings.search.lexical_weight, float)  # env beats file
    assert settings.search.fusion == "rrf"  # env only
    assert settings.search.candidates == 70  # the flag beats env and file


def test_environment_values_are_coerced_to_the_fields_types(isolated_home, monkeypatch):
    monkeypatch.setenv("THB_TOP_K", "7")
    monkeypatch.setenv("THB_HIGHLIGHT", "off")
    monkeypatch.setenv("THB_MAX_FILE_MB", "0.5")
    settings = load_settings()
    assert (settings.search.top_k, settings.search.highlight, settings.ingest.max_file_mb) == (7, False, 0.5)


def test_an_unset_flag_leaves_the_layer_below(isolated_home, monkeypatch):
    _write(isolated_home, "top_k = 4\n")
    assert load_settings(top_k=None).search.top_k == 4  # click passes None for a flag not given
    monkeypatch.setenv("THB_TOP_K", "6")
    assert load_settings(top_k=None).search.top_k == 6


def test_the_home_flag_reads_that_homes_settings_file(isolated_home, tmp_path):
    _write(isolated_home, "top_k = 4\n")
    other = tmp_path / "other-home"
    _write(other, "top_k = 9\nchunk_tokens = 150\n")
    settings = load_settings(home=other)
    assert settings.home == other and (settings.search.top_k, settings.ingest.chunk_tokens) == (9, 150)
    assert load_settings().search.top_k == 4


def test_unknown_keys_in_the_file_are_ignored_and_no_file_means_defaults(isolated_home):
    assert not (isolated_home / "settings.toml").exists()
    assert load_settings() == Settings().replace(home=isolated_home)  # no file, no THB_*: every default
    _write(isolated_home, "no_such_setting = 1\ntop_k = 3\n")
    assert load_settings().search.top_k == 3

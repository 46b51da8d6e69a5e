"""`thb search --group`, `thb tag` and `thb retag` through the CLI (click's runner, in-process).

The subject is the commands' shape: what they read, print and write. They run on the demo index
built with the fake embedder (conftest `fake_embedder_home`), not the real models, so the tags are
whatever the tagger makes of hash vectors: the tests check structure and consistency, not quality.
"""
from __future__ import annotations

import json
import sqlite3
import tomllib

import pytest

from ingest.settings import BUNDLED_CORPUS
from tests.kit.reliability_kit import thb

QUERY = "victims of trafficking for labour exploitation"
TAXONOMY_2020 = BUNDLED_CORPUS / "taxonomy" / "cbss-tf-thb-2020-2025.toml"
TAXONOMY_2012 = BUNDLED_CORPUS / "taxonomy" / "cbss-tf-thb-2012-2014.toml"


def _ids(path) -> set[str]:
    """The priority ids of a taxonomy file, read as data (the taxonomy module is moving stage)."""
    with path.open("rb") as fh:
        return {p["id"] for p in tomllib.load(fh)["priorities"]}


def test_search_group_json_puts_each_hit_under_each_of_its_priorities(fake_embedder_home):
    run = thb("search", QUERY, "--group", "--json", "-k", "10")
    assert run.exit_code == 0, run.output
    payload = json.loads(run.stdout)
    hits, groups = payload["hits"], payload["groups"]
    assert len(hits) == 10 and len(groups) >= 2
    known = _ids(TAXONOMY_2020)
    for group in groups:
        assert group["count"] == len(group["hits"]) > 0
        assert group["priority"] in known or not any(h["priorities"] for h in hits if h["rank"] in
                                                     {g["rank"] for g in group["hits"]})
    by_rank = {h["rank"]: h for h in hits}
    for rank, hit in by_rank.items():
        homes = [g["priority"] for g in groups if rank in {x["rank"] for x in g["hits"]}]
        if hit["priorities"]:
            assert set(homes) <= set(hit["priorities"]) and homes, (rank, hit["priorities"], homes)
        else:
            assert len(homes) == 1 and homes[0] not in known  # the untagged go to "Other"
        for g in groups:
            for x in g["hits"]:
                if x["rank"] == rank:
                    assert x["chunk_id"] == hit["chunk_id"] and x["shared"] == (len(homes) > 1)
    best = [min(x["rank"] for x in g["hits"]) for g in groups if g["priority"] in known]
    assert best == sorted(best)  # groups in the order of their best hit


def test_search_group_text_prints_a_heading_per_group_and_marks_shared_hits(fake_embedder_home):
    groups = json.loads(thb("search", QUERY, "--group", "--json", "-k", "10").stdout)["groups"]
    run = thb("search", QUERY, "--group", "-k", "10")
    assert run.exit_code == 0, run.output
    lines = run.stdout.splitlines()
    headings = [ln for ln in lines if ln.startswith("== ")]
    assert headings == [f"== {g['label']} ({g['count']}) ==" for g in groups]
    cited = [ln for ln in lines if ln[:3].strip().rstrip(".").isdigit() and ln[2:4] == ". "]
    assert len(cited) == sum(g["count"] for g in groups)
    assert sum(ln.endswith("[shared]") for ln in cited) == sum(x["shared"] for g in groups for x in g["hits"])
    plain = thb("search", QUERY, "-k", "10")
    assert "== " not in plain.stdout and plain.stdout.count("\n 1. ") + plain.stdout.startswith(" 1. ") == 1


def test_tag_prints_each_line_back_with_its_priorities_and_scores(fake_embedder_home, tmp_path):
    rows = [{"id": "a", "text": "Victims of trafficking for sexual exploitation shall receive assistance."},
            {"id": "b", "text": "Forced labour in supply chains and public procurement.", "note": "kept"},
            {"id": "c", "text": "The Convention shall enter into force on the first day of the month."}]
    source = tmp_path / "passages.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    run = thb("tag", "--input", str(source))
    assert run.exit_code == 0, run.output
    out = [json.loads(line) for line in run.stdout.splitlines()]
    known = _ids(TAXONOMY_2020)
    assert [o["id"] for o in out] == ["a", "b", "c"] and out[1]["note"] == "kept"
    for row, o in zip(rows, out):
        assert o["text"] == row["text"]
        assert set(o["priorities"]) <= known and set(o["priority_scores"]) <= known
        assert all(p in o["priority_scores"] for p in o["priorities"])
    again = thb("tag", "--input", str(source))
    assert again.stdout == run.stdout  # deterministic
    other = thb("tag", "--input", str(source), "--taxonomy", str(TAXONOMY_2012))
    assert all(set(json.loads(ln)["priority_scores"]) <= _ids(TAXONOMY_2012) for ln in other.stdout.splitlines())


@pytest.mark.parametrize("content,args,code,message", [
    ('{"text": "ok"}\nnot json\n', [], 1, ":2: not JSON"),
    ('{"text": 3}\n', [], 1, ":1: each line needs a string 'text' field"),
    ('{"text": "ok"}\n', ["--cv", "3"], 2, "--cv needs --eval"),
    ('{"text": "no gold"}\n', ["--eval", "--cv", "3"], 1, "need input lines with gold 'priorities' lists"),
])
def test_tag_refuses_bad_input_in_one_line(fake_embedder_home, tmp_path, content, args, code, message):
    source = tmp_path / "in.jsonl"
    source.write_text(content, encoding="utf-8")
    run = thb("tag", "--input", str(source), *args)
    assert run.exit_code == code, run.output
    assert message in run.stderr.strip().splitlines()[-1] and "Traceback" not in run.stderr  # one error line, last


def _chunk_state(settings) -> dict[str, tuple[bytes, list[str]]]:
    with sqlite3.connect(settings.index_dir / "thb.sqlite") as conn:
        return {cid: (blob, json.loads(prios)) for cid, blob, prios in
                conn.execute("SELECT chunk_id, embedding, priorities FROM chunks")}


def test_retag_switches_the_taxonomy_without_re_embedding_and_back(fake_embedder_home):
    settings = fake_embedder_home
    before = _chunk_state(settings)
    assert any(p for _b, p in before.values())

    run = thb("retag", "--taxonomy", str(TAXONOMY_2012))
    assert run.exit_code == 0, run.output
    assert run.stdout.startswith(f"re-tagged {len(before)} chunks with {TAXONOMY_2012.name} (")
    after = _chunk_state(settings)
    assert {c: b for c, (b, _p) in after.items()} == {c: b for c, (b, _p) in before.items()}  # same vectors
    assert all(set(p) <= _ids(TAXONOMY_2012) for _b, p in after.values()) and any(p for _b, p in after.values())
    manifest = json.loads((settings.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tagger"]["taxonomy"] == "cbss-tf-thb-2012-2014"
    hits = json.loads(thb("--home", str(settings.home), "search", QUERY, "--json").stdout)["hits"]
    assert hits and all(set(h["priorities"]) <= _ids(TAXONOMY_2012) for h in hits)

    back = thb("retag", "--taxonomy", str(TAXONOMY_2020))
    assert back.exit_code == 0, back.output
    assert _chunk_state(settings) == before  # tagging is a function of the stored vectors and the taxonomy


def test_retag_of_a_missing_taxonomy_is_a_usage_error(fake_embedder_home, tmp_path):
    run = thb("retag", "--taxonomy", str(tmp_path / "nope.toml"))
    assert run.exit_code == 2 and "nope.toml" in run.stderr

"""Issue 13, defects 3 and 7 through the `thb` CLI: lone surrogates in queries, per-line errors in a
batch, symbolic links, odd file names, bad flags, manifest paths, and the PDF worker's lifetime.
Encoder: test-hash (tests/kit/reliability_kit)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.kit.reliability_kit import thb, top_paths, write_corpus


pytestmark = pytest.mark.usefixtures("fake_embedder")  # conftest: THB_ENCODER=test-hash, no e5


@pytest.fixture
def indexed(tmp_path):
    folder = write_corpus(tmp_path / "c", ["alpha.txt", "beta.txt"])
    (folder / "strasse.txt").write_text("Die Straße der Zwangsarbeit.\n\nDie Straße führt zum Hafen.", encoding="utf-8")
    assert thb("ingest", str(folder)).exit_code == 0
    return folder


def test_query_argument_with_undecodable_bytes_from_a_latin1_terminal(indexed):
    """Defect 3: `thb search $'Stra\\xdfe'` reached the tokenizer as a lone surrogate and raised."""
    arg = b"Stra\xdfe".decode("utf-8", "surrogateescape")  # what Python makes of that argv
    run = thb("search", arg, "--json")
    assert run.exit_code == 0, run.output
    payload = json.loads(run.stdout)
    assert payload["query"] == "Straße"
    assert payload["hits"][0]["doc_path"] == "strasse.txt"
    assert thb("search", "\ud800 zorblatt", "-k", "1").exit_code == 0


def test_batch_file_bad_lines_are_per_line_errors_and_the_rest_is_answered(indexed, tmp_path):
    """Defect 3: one "\\ud800" in a --queries file aborted the whole batch with no output."""
    queries = tmp_path / "q.jsonl"
    lines = [json.dumps({"qid": "q1", "query": "zorblatt"}),
             '{"qid": "q2", "query": "\\ud800 quindaro"}',   # a lone surrogate, escaped in JSON
             "not json at all",
             json.dumps({"qid": "q4"})]
    queries.write_bytes(("\n".join(lines) + "\n").encode() + b'{"qid": "q5", "query": "Stra\xdfe"}\n')
    run = thb("search", "--queries", str(queries), "-k", "3")
    assert run.exit_code == 1
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert [o.get("qid") for o in out] == ["q1", "q2", None, None, "q5"]
    assert out[0]["hits"][0]["doc_path"] == "alpha.txt" and out[1]["hits"][0]["doc_path"] == "beta.txt"
    assert out[2] == {"line": 3, "qid": None, "error": "unreadable query line: Expecting value: line 1 column 1 (char 0)"}
    assert out[3]["line"] == 4 and out[3]["error"] == 'unreadable query line: no "query" string'
    assert "hits" in out[4]  # undecodable bytes in the file: the line is searched, not fatal
    assert run.stderr.splitlines() == [f"thb: error: {queries}:3: {out[2]['error']}",
                                       f"thb: error: {queries}:4: {out[3]['error']}"]


@pytest.mark.parametrize("k", ["0", "-5"])
def test_top_k_below_one_is_a_usage_error(indexed, k):
    run = thb("search", "zorblatt", "-k", k)
    assert run.exit_code == 2 and "Invalid value for '-k' / '--top-k'" in run.stderr


def test_ingest_of_a_missing_path_exits_2(tmp_path):
    run = thb("ingest", str(tmp_path / "nonexistent"))
    assert run.exit_code == 2 and "does not exist" in run.stderr


def test_symlink_out_of_the_folder_is_refused_unless_allowed_and_a_loop_is_named(tmp_path, isolated_home):
    """Defect 7: links out of the ingested folder were followed silently; a loop read "target is gone"."""
    folder = write_corpus(tmp_path / "c", ["alpha.txt"])
    outside = write_corpus(tmp_path / "outside", ["beta.txt"]) / "beta.txt"
    (folder / "link.txt").symlink_to(outside)
    (folder / "inside-link.txt").symlink_to(folder / "alpha.txt")
    (folder / "loop-a.txt").symlink_to(folder / "loop-b.txt")
    (folder / "loop-b.txt").symlink_to(folder / "loop-a.txt")
    run = thb("ingest", str(folder))
    assert run.exit_code == 1
    assert sorted(run.stderr.splitlines()) == [
        f"failed: {folder / 'link.txt'}: symbolic link to {outside}, outside {folder}; "
        "set THB_FOLLOW_SYMLINKS=yes to follow such links",
        f"failed: {folder / 'loop-a.txt'}: symbolic link loop (the link leads back to itself)",
        f"failed: {folder / 'loop-b.txt'}: symbolic link loop (the link leads back to itself)"]
    assert "link.txt" not in top_paths(thb("search", "quindaro", "--json").stdout)
    allowed = thb("ingest", str(folder), env={"THB_FOLLOW_SYMLINKS": "yes"})
    assert "1 added" in allowed.stdout
    assert top_paths(thb("search", "quindaro", "--json").stdout)[0] == "link.txt"
    bad = thb("ingest", str(folder), env={"THB_FOLLOW_SYMLINKS": "maybe"})
    assert bad.exit_code == 1
    assert bad.stderr.strip() == "thb: error: unknown THB_FOLLOW_SYMLINKS value 'maybe'; choose from no, yes"


def test_newline_in_a_file_name_keeps_the_report_one_line_per_failure(tmp_path):
    folder = write_corpus(tmp_path / "c", ["alpha.txt"])
    (folder / "bad\nname.txt").write_bytes(b"")
    run = thb("ingest", str(folder))
    assert run.exit_code == 1
    assert run.stderr.splitlines() == [f"failed: {folder}/bad\\nname.txt: empty file (0 bytes)"]


def test_manifest_path_climbing_out_is_reported_as_written(tmp_path):
    folder = write_corpus(tmp_path / "c", ["alpha.txt"])
    write_corpus(tmp_path / "outside", ["beta.txt"])
    (folder / "manifest.tsv").write_text("path\ttitle\n../outside/beta.txt\tBeta\nalpha.txt\tAlpha\n", encoding="utf-8")
    run = thb("ingest", str(folder))
    assert run.exit_code == 0
    assert run.stderr.splitlines() == [f"warning: {folder / 'manifest.tsv'}:2: path '../outside/beta.txt' leaves the "
                                       "folder of the manifest; give paths relative to it"]


@pytest.mark.slow
def test_pdf_worker_dies_with_its_parent_on_kill_9(tmp_path):
    """Defect 7: the PDF worker outlived its parent's kill -9 until its page ended."""
    code = ("import sys, time; from ingest import readers; from tests.ingest.test_bad_input import looping_pdf; "
            "readers._extract_in_child(b'%PDF-1.4 not really', 5); "
            "print(readers._WORKER.proc.pid, flush=True); readers._extract_in_child(looping_pdf(), 300)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])))
    try:
        worker = int(parent.stdout.readline())
        time.sleep(3)  # the worker is inside the looping page now
        assert _alive(worker) and parent.poll() is None
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        # before the fix the worker went on with its page for several seconds more (7 s measured)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and _alive(worker):
            time.sleep(0.05)
        assert not _alive(worker), "the PDF worker outlived its parent"
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.is_file() and stat.read_text().split()[2] == "Z")  # a zombie is gone

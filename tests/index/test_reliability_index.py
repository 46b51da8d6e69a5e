"""Issue 13, defects 2, 4, 5: the index under `thb ingest --rebuild` while serving, a full disk and a
corrupt store, through the CLI (and HTTP for the served app). Encoder: test-hash (tests/kit/reliability_kit)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ui.settings import load_settings
from tests.kit.reliability_kit import search_html, serve, thb, top_paths, upload, write_corpus


pytestmark = pytest.mark.usefixtures("fake_embedder")  # conftest: THB_ENCODER=test-hash, no e5


@pytest.mark.slow  # two ingests and a rebuild under a serving searcher: 9 s
def test_rebuild_while_serving_old_hits_go_and_new_documents_answer(tmp_path, isolated_home):
    """Defect 2: the server kept reading the deleted thb.sqlite after `thb ingest --rebuild`: it
    showed hits no longer in the index (their links 404) and could not find a later upload."""
    import httpx

    old = write_corpus(tmp_path / "old", ["alpha.txt", "beta.txt"])
    new = write_corpus(tmp_path / "new", ["gamma.txt"])
    assert thb("ingest", str(old)).exit_code == 0
    server, url = serve(load_settings())
    try:
        with httpx.Client() as client:
            assert "The zorblatt procedure" in search_html(client, url, "zorblatt")
            rebuilt = thb("ingest", "--rebuild", str(new))
            assert rebuilt.exit_code == 0, rebuilt.output
            assert "1 added" in rebuilt.stdout
            after = search_html(client, url, "zorblatt")  # only gamma.txt is left to answer
            assert "The zorblatt procedure" not in after and "The quindaro procedure" not in after
            assert "The vextrion procedure" in search_html(client, url, "vextrion")
            for doc_id in _doc_ids(isolated_home):  # every document the index names is served
                assert client.get(f"{url}/doc/{doc_id}/file").status_code == 200
            outcome = upload(client, url, "delta.txt", (write_corpus(tmp_path / "up", ["delta.txt"]) / "delta.txt")
                             .read_bytes(), title="Delta report")
            assert "searchable now" in outcome, outcome
            assert "Delta report" in search_html(client, url, "plumbrisk")
    finally:
        server.should_exit = True
    assert sorted(p.name for p in isolated_home.iterdir()) == ["exports", "index", "uploads"]  # no rebuild folder left


def _doc_ids(home: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(home / "index" / "thb.sqlite") as conn:
        return [r[0] for r in conn.execute("SELECT doc_id FROM documents")]


def test_rebuild_swaps_folders_so_an_open_reader_keeps_a_whole_index(tmp_path, isolated_home):
    """Defect 2: the old store file is never deleted from under a reader: a connection opened before
    the rebuild still reads every old row; a searcher notices the new inode and reopens."""
    import sqlite3

    from search.engine import Searcher

    assert thb("ingest", str(write_corpus(tmp_path / "old", ["alpha.txt", "beta.txt"]))).exit_code == 0
    reader = sqlite3.connect(f"file:{isolated_home / 'index' / 'thb.sqlite'}?mode=ro", uri=True)
    n_old = reader.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    searcher = Searcher(load_settings().search)
    assert searcher.search("zorblatt").hits[0].doc_path == "alpha.txt"
    assert thb("ingest", "--rebuild", str(write_corpus(tmp_path / "new", ["gamma.txt"]))).exit_code == 0
    assert reader.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == n_old == 2
    assert {h.doc_path for h in searcher.search("zorblatt").hits} == {"gamma.txt"}
    assert searcher.search("vextrion").hits[0].doc_path == "gamma.txt"
    reader.close()


def test_repeated_search_is_answered_from_the_cache_until_the_index_changes(tmp_path):
    from search.engine import Searcher

    folder = write_corpus(tmp_path / "c", ["alpha.txt"])
    assert thb("ingest", str(folder)).exit_code == 0
    searcher = Searcher(load_settings().search)
    first = searcher.search("zorblatt procedure")
    assert searcher.search("zorblatt   procedure") is first and searcher.cache.hits == 1
    assert searcher.search("zorblatt procedure", top_k=3) is not first  # another key
    write_corpus(folder, ["beta.txt"])
    assert thb("ingest", str(folder)).exit_code == 0
    again = searcher.search("zorblatt procedure")
    assert again is not first and {h.doc_path for h in again.hits} == {"alpha.txt", "beta.txt"}


# ------------------------------------------------------------------ defect 4: disk full

@pytest.fixture
def small_disk(tmp_path):
    """A 6 MB tmpfs of our own (root only); skipped, saying so, where mounting is not permitted."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill ({made.stderr.strip() or 'not permitted'})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leave_bytes: int) -> None:
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    (disk / "filler.bin").write_bytes(b"\0" * max(0, free - leave_bytes))


@pytest.mark.parametrize("leave_kb,where", [(8, "sqlite"), (160, "faiss")])
def test_disk_full_gives_one_line_naming_the_disk_and_keeps_the_index(tmp_path, small_disk, leave_kb, where):
    """Defect 4: ENOSPC in the FAISS temp write left a 4 MB .tmp and a traceback; "database or disk
    is full" at COMMIT was a traceback too. Now: one line naming the disk, no temp file, an index
    that answers as before (the store's transaction landed whole or not at all)."""
    home = small_disk / "home"
    env = {"THB_HOME": str(home)}
    base = write_corpus(tmp_path / "base", ["alpha.txt", "beta.txt"], paragraphs=500)
    assert thb("ingest", str(base), env=env).exit_code == 0
    before = thb("search", "zorblatt", "--json", env=env).stdout
    faiss_bytes = (home / "index" / "vectors.faiss").stat().st_size
    assert faiss_bytes > leave_kb * 1024  # the FAISS file cannot be written again in what is left
    _fill(small_disk, leave_kb * 1024)
    added = write_corpus(tmp_path / "added", ["gamma.txt"], paragraphs=1)
    full = thb("ingest", str(base), str(added), env=env)
    assert full.exit_code == 1, full.output
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"thb: error: disk full: {small_disk} has "), full.stderr
    assert "the previous index is kept" in lines[0] and "Traceback" not in full.output
    assert not list((home / "index").glob(".*.tmp")) and not list(home.glob(".rebuild-*"))
    assert top_paths(thb("search", "zorblatt", "--json", env=env).stdout) == top_paths(before)
    # "sqlite": the transaction rolled back; "faiss": it had committed, FAISS is rebuilt from the store
    assert ("gamma.txt" in top_paths(thb("search", "vextrion", "--json", env=env).stdout)) == (where == "faiss")
    (small_disk / "filler.bin").unlink()
    assert thb("ingest", str(base), str(added), env=env).exit_code == 0  # room again: the ingest completes
    assert top_paths(thb("search", "vextrion", "--json", env=env).stdout)[0] == "gamma.txt"


# ------------------------------------------------------------------ defect 5: corrupt store

def _damage(db: Path, how: str) -> None:
    if how == "zero-bytes":
        db.write_bytes(b"")
        return
    data = bytearray(db.read_bytes())
    page = 4096
    at = (len(data) // page // 2) * page  # a page in the middle of the file
    data[at:at + page] = bytes((i * 151 + 7) % 256 for i in range(page))
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["zero-bytes", "garbage-page"])
def test_corrupt_store_is_refused_with_the_rebuild_command_and_never_replaced(tmp_path, isolated_home, how):
    """Defect 5: a zero-byte thb.sqlite gave a traceback and a later ingest silently started an
    empty store (rc 0); a page of garbage gave "database disk image is malformed" with no hint."""
    folder = write_corpus(tmp_path / "c", ["alpha.txt", "beta.txt"], paragraphs=60)
    assert thb("ingest", str(folder)).exit_code == 0
    db = isolated_home / "index" / "thb.sqlite"
    _damage(db, how)
    damaged = db.read_bytes()
    for args in (["search", "zorblatt"], ["ingest", str(folder)]):
        run = thb(*args)
        assert run.exit_code == 1, (args, run.output)
        line = run.stderr.strip()
        assert "\n" not in line and line.startswith(f"thb: error: index store {db} is "), line
        assert line.endswith(f"run `thb ingest --rebuild PATH...` (THB_HOME={isolated_home}) to rebuild it"), line
        assert db.read_bytes() == damaged  # left as it is
    assert thb("ingest", "--rebuild", str(folder)).exit_code == 0
    assert top_paths(thb("search", "zorblatt", "--json").stdout)[0] == "alpha.txt"


@pytest.mark.slow
def test_rebuild_killed_before_its_swap_leaves_the_live_index_whole(tmp_path, isolated_home):
    """Defect 2, crash safety: a `thb ingest --rebuild` killed (SIGKILL) after building beside the
    live index but before swapping it in changes nothing; the next ingest removes its folder."""
    import signal
    import sys

    old = write_corpus(tmp_path / "old", ["alpha.txt", "beta.txt"])
    assert thb("ingest", str(old)).exit_code == 0
    before = thb("search", "zorblatt", "--json").stdout
    killed = subprocess.run([str(Path(sys.executable).with_name("thb")), "ingest", "--rebuild",
                             str(write_corpus(tmp_path / "new", ["gamma.txt"]))],
                            env=dict(os.environ, THB_TEST_CRASH_AT="before_swap"), capture_output=True, text=True,
                            timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(list(isolated_home.glob(".rebuild-*"))) == 1  # the new index, built but not swapped in
    assert thb("search", "zorblatt", "--json").stdout == before
    assert thb("ingest", str(old)).exit_code == 0
    assert not list(isolated_home.glob(".rebuild-*"))


def test_removing_a_document_takes_its_chunks_and_vectors_out_and_leaves_the_rest(tmp_path, monkeypatch):
    """index/removal.remove_documents (the Documents tab's Delete) under the writer lock: the
    document's rows and vectors go, the other documents still answer, and a later ingest of the
    folder brings it back (test-hash encoder: the store is the subject, not the model)."""
    from index import catalog, store
    from index.builder import ingest_paths
    from index.removal import remove_documents
    from ui.settings import load_settings
    from tests.kit.reliability_kit import thb, top_paths, write_corpus

    folder = write_corpus(tmp_path / "docs", ["alpha.txt", "beta.txt"])
    settings = load_settings(home=tmp_path / "home")
    ingest_paths(settings.index, [folder])
    monkeypatch.setenv("THB_HOME", str(settings.home))
    conn = store.connect(settings.index_dir / catalog.DB_NAME, readonly=True)
    beta = conn.execute("SELECT d.doc_id FROM documents d JOIN paths p ON p.doc_id = d.doc_id "
                        "WHERE p.doc_path = 'beta.txt'").fetchone()[0]
    conn.close()
    assert remove_documents(settings.index, [beta]) == 1
    conn = store.connect(settings.index_dir / catalog.DB_NAME, readonly=True)
    assert conn.execute("SELECT COUNT(*) FROM chunks WHERE doc_id=?", (beta,)).fetchone()[0] == 0
    left = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    conn.close()
    assert catalog.read_manifest(settings.index_dir)["counts"]["chunks"] == left > 0
    assert "beta.txt" not in top_paths(thb("search", "quindaro", "--json").stdout)
    assert top_paths(thb("search", "zorblatt", "--json").stdout)[0] == "alpha.txt"
    assert remove_documents(settings.index, [beta]) == 0
    ingest_paths(settings.index, [folder])
    assert top_paths(thb("search", "quindaro", "--json").stdout)[0] == "beta.txt"

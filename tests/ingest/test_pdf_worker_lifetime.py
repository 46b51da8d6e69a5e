"""The PDF worker's lifetime is the process's, not the thread's that first needed it.

Linux sends PR_SET_PDEATHSIG when the forking *thread* ends (prctl(2)). Ingest reads files on a
short-lived thread (index/builder.py's thb-read) and the app on request threads, so a worker
forked there was SIGKILLed when that thread finished. ingest/spawner.py forks from one
long-lived thread instead. Real worker processes and real PDFs (written with pypdf); dying with
a parent killed by -9 is tests/ui/test_reliability_cli.py's subject.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from ingest import readers
from tests.ingest.test_bad_input import GOOD_PDF_LINES, text_pdf

EXPECTED = "Recruitment agency fees"


def _read(path: Path) -> str:
    data = text_pdf(GOOD_PDF_LINES)
    path.write_bytes(data)
    return readers.read_document(path, data, page_timeout_s=20.0).pages[0]


def _wait_until_the_thread_is_gone(native_id: int) -> None:
    """join() returns before the kernel ends the thread; its parent-death signals go out by then."""
    task = Path(f"/proc/self/task/{native_id}")
    deadline = time.monotonic() + 10
    while task.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not task.exists(), "the finished thread is still in /proc"


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_a_worker_started_by_a_finished_thread_keeps_serving(tmp_path):
    readers.stop_pdf_worker()
    seen = {}

    def first_read():
        seen["text"] = _read(tmp_path / "first.pdf")
        seen["worker"] = readers._WORKER

    thread = threading.Thread(target=first_read, name="short-lived-reader")
    thread.start()
    thread.join()
    assert EXPECTED in seen["text"]
    _wait_until_the_thread_is_gone(thread.native_id)
    # before the fix the worker got SIGKILL here: the read below failed ("PDF reader crashed
    # (exit code -9)") or ran in a replacement worker
    assert EXPECTED in _read(tmp_path / "second.pdf")
    assert readers._WORKER is seen["worker"] and seen["worker"].alive()


def test_a_forked_child_starts_its_own_worker(tmp_path):
    """After os.fork (multiprocessing's default on Linux) the spawner thread is not in the child."""
    assert EXPECTED in _read(tmp_path / "parent.pdf")  # the parent has a spawner thread and a worker
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit code, never returns
        ok = False
        try:
            ok = EXPECTED in _read(tmp_path / "child.pdf") and _parent_of(readers._WORKER.proc.pid) == os.getpid()
        except BaseException:  # noqa: BLE001 - any failure is exit code 1
            pass
        os._exit(0 if ok else 1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
    else:
        os.kill(child, 9)
        os.waitpid(child, 0)
        raise AssertionError("the forked child hung reading a PDF (no spawner thread there)")
    assert os.waitstatus_to_exitcode(status) == 0

"""Start child processes from one thread that lives as long as this process.

Linux sends a child's PR_SET_PDEATHSIG signal when the *thread* that forked it ends, not when
the process does (prctl(2): "the 'parent' in this case is considered to be the thread that
created this process"). The PDF worker (ingest/readers.py) asks for SIGKILL so that it dies
with a parent killed by -9; started from a short-lived thread (index/builder.py's thb-read, an
app request thread), it was killed as soon as that thread finished, even while another thread
was reading a PDF through it. Forking every such child from this module's daemon thread ties
the signal to the process's life again.
"""
from __future__ import annotations

import concurrent.futures
import os
import queue
import subprocess
import threading


class _Spawner:
    """Runs subprocess.Popen on its own daemon thread, started on first use (again after a fork)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue | None = None
        os.register_at_fork(after_in_child=self._forget)  # a fork's child has no spawner thread

    def popen(self, args, **kwargs) -> subprocess.Popen:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue().put((future, args, kwargs))
        return future.result()

    def _queue(self) -> queue.SimpleQueue:
        with self._lock:
            if self._requests is None:
                requests: queue.SimpleQueue = queue.SimpleQueue()
                try:
                    threading.Thread(target=_spawn_forever, args=(requests,), name="thb-spawner",
                                     daemon=True).start()
                except RuntimeError as exc:  # no thread to be had: callers treat it as no process
                    raise OSError(f"cannot start the spawner thread: {exc}") from None
                self._requests = requests
            return self._requests

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._requests = None


def _spawn_forever(requests: queue.SimpleQueue) -> None:
    while True:
        future, args, kwargs = requests.get()
        try:
            future.set_result(subprocess.Popen(args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - raised again on the caller's thread
            future.set_exception(exc)


_SPAWNER = _Spawner()


def popen(args, **kwargs) -> subprocess.Popen:
    """subprocess.Popen(args, **kwargs), forked from the long-lived spawner thread.

    Raises what Popen raises (OSError when the system refuses a process or a thread)."""
    return _SPAWNER.popen(args, **kwargs)

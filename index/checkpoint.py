"""The one fault-injection point of the index writers, for the crash-safety tests.

`checkpoint("faiss_write")` does nothing unless the environment names that point:
THB_TEST_CRASH_AT=point kills this process there (SIGKILL, as `kill -9` would: no cleanup runs);
THB_TEST_PAUSE_AT=point writes `paused-at-<point>` into `pause_dir` and waits (at most 120 s)
until that file is removed, so a test can collide a second real process with this one.

Points, in the order an ingest passes them: before_embedding, embedding (after the first batch),
before_commit, after_commit, faiss_write (temp file written, not yet renamed), before_manifest;
a rebuild adds before_swap.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

CRASH_ENV = "THB_TEST_CRASH_AT"
PAUSE_ENV = "THB_TEST_PAUSE_AT"
PAUSE_MAX_S = 120


def checkpoint(point: str, *, pause_dir: Path | None = None) -> None:
    """Die or pause here when a test asks for `point`; otherwise nothing."""
    if os.environ.get(CRASH_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)
    if pause_dir is not None and os.environ.get(PAUSE_ENV) == point:
        marker = Path(pause_dir) / f"paused-at-{point}"
        marker.write_text(str(os.getpid()))
        deadline = time.monotonic() + PAUSE_MAX_S
        while marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

"""The paper model of Ray ingest on more workers (bench/runner.py: ray_projection)."""
from __future__ import annotations

from bench.runner import ray_projection


def test_tasks_go_longest_first_to_the_least_busy_worker():
    row = ray_projection([5.0, 4.0, 3.0, 3.0, 2.0, 1.0], serial_s=10.0, parallel_s=9.5, workers=(1, 2, 4, 8))
    assert row["ray_projected_s_1_workers"] == 10.0 + 18.0
    assert row["ray_projected_s_2_workers"] == 10.0 + 9.0     # 5+3+1 | 4+3+2
    assert row["ray_projected_s_4_workers"] == 10.0 + 5.0     # the longest document bounds it
    assert row["ray_projected_s_8_workers"] == 10.0 + 5.0
    assert (row["ray_tasks"], row["ray_task_s_total"], row["ray_task_s_max"]) == (6, 18.0, 5.0)

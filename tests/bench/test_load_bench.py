"""bench/load.py: the open model's schedule and its query mix (issue 13)."""
from __future__ import annotations

from bench import load


def test_open_model_schedule_sends_every_interval_whatever_the_answers():
    schedule = load.arrivals(users=50, interval_s=10.0, jitter=0.5, seconds=60.0, seed=1)
    per_user = {}
    for t, user in schedule:
        per_user.setdefault(user, []).append(t)
    assert len(per_user) == 50 and 250 <= len(schedule) <= 350  # about 5 searches/s offered
    for times in per_user.values():
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert times[0] < 10.0 and all(5.0 <= g <= 15.0 for g in gaps)


def test_query_mix_is_realistic_and_holds_no_giant_query():
    mix = load.query_mix()
    assert len(mix) == len(set(mix)) and len(mix) >= 11 * len(load.BUNDLED_QUESTIONS)
    assert max(len(q) for q in mix) < 400  # the 3,000-character query is tested on its own
    assert all(any(ch.isalpha() for ch in q) for q in mix)

"""Backoff timers: due times in order, stale entries of dropped jobs skipped."""

from __future__ import annotations

from server.helpers import APP
from uidt.job.key import JobKey
from uidt.server.timers import BackoffTimers


def test_due_in_order_and_gone_jobs_skipped() -> None:
    timers = BackoffTimers()
    a, b, c = (JobKey(APP, None, i) for i in range(3))
    timers.arm(b, 20)
    timers.arm(a, 10)
    timers.arm(c, 30)
    assert timers.next_due(lambda key: True) == 10
    assert timers.next_due(lambda key: key != a) == 20  # a was dropped: its entry goes
    assert len(timers) == 2
    assert timers.pop_due(25) == [b]
    assert timers.pop_due(25) == []
    assert timers.pop_due(30) == [c]
    assert timers.next_due(lambda key: True) is None

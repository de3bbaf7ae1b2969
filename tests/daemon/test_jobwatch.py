"""The job log: one line when a run starts, one when it ends, with the job's fields."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from uidt.daemon import jobwatch
from uidt.daemon.changes import ChangeFeed
from uidt.daemon.jobwatch import JobLog, follow, stop_reason_name
from uidt.job.reasons import StopReason


def job(job_id: int, state: str, **more: Any) -> dict[str, Any]:
    return {"app": "org.example.app", "namespace": None, "job_id": job_id, "state": state, **more}


def test_starts_and_ends_are_logged_with_the_job_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="uidt.daemon.jobs")
    watch = JobLog()
    watch.observe([job(1, "waiting")], [], 0.0)
    watch.observe([job(1, "active")], [], 1.0)
    stopped = int(StopReason.CONSTRAINT_CONNECTIVITY)
    watch.observe([job(1, "waiting", stop_reason=stopped)], [], 2.0)
    watch.observe([job(1, "active")], [], 3.0)
    watch.observe([], [job(1, "finished", stop_reason=0)], 4.0)
    lines = [(r.getMessage(), r.__dict__.get("end"), r.__dict__["job_id"]) for r in caplog.records]
    assert lines == [
        ("job org.example.app/1 started", None, 1),
        (
            "job org.example.app/1 stopped: rescheduled (stop reason constraint_connectivity)",
            "rescheduled",
            1,
        ),
        ("job org.example.app/1 started", None, 1),
        ("job org.example.app/1 stopped: finished (stop reason undefined)", "finished", 1),
    ]
    assert all(r.__dict__["app"] == "org.example.app" for r in caplog.records)


def test_stop_reason_names() -> None:
    assert stop_reason_name(4) == "device_state"
    assert stop_reason_name(None) == "undefined"
    assert stop_reason_name(999) == "undefined"


class _FakeRuntime:
    def __init__(self) -> None:
        self.changes = ChangeFeed()
        self.looks = 0

    def jobs_snapshot(self, app: str | None, *, include_finished: bool) -> list[dict[str, Any]]:
        self.looks += 1
        return []


async def test_follow_ends_when_cancelled_even_as_a_change_arrives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # asyncio.wait_for (Python 3.11) returns the result and drops the cancellation when the
    # awaited future completes in the same step: the daemon's shutdown then waited forever.
    monkeypatch.setattr(jobwatch, "MIN_INTERVAL_S", 0.0)
    runtime = _FakeRuntime()
    task = asyncio.create_task(follow(runtime, [JobLog()], lambda: 0.0))  # type: ignore[arg-type]
    for _ in range(1000):  # until it waits for the next change (a few loop steps)
        if runtime.looks and runtime.changes._next is not None:
            break
        await asyncio.sleep(0)
    assert runtime.changes._next is not None
    runtime.changes.bump()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)

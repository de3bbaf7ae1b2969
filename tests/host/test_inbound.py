"""A worker's ``job_finished`` message read as the fact it reports, ``job_ended_incomplete``
included (how, and its words), from a worker that may say anything."""

from __future__ import annotations

from typing import Any

import pytest

from uidt.host import messages as msg
from uidt.host.events import Finished
from uidt.host.inbound import report
from uidt.host.workerhandle import WorkerHandle
from uidt.job.reasons import Incomplete


def _fact(message: msg.FromWorker) -> Any:
    facts: list[Any] = []
    worker = WorkerHandle("a", None, None, None)  # type: ignore[arg-type]
    report(worker, message, facts.append)
    [fact] = facts
    return fact


@pytest.mark.parametrize(
    ("message", "incomplete"),
    [
        (msg.JobFinished(1, False), None),
        (
            msg.JobFinished(1, False, None, "paused", "paused at 1 MiB"),
            (Incomplete.PAUSED, "paused at 1 MiB"),
        ),
        (msg.JobFinished(1, False, None, "paused"), (Incomplete.PAUSED, "paused")),
        # an unknown way reads abandoned: the job is never taken for completed
        (msg.JobFinished(1, False, None, "done!", "all good"), (Incomplete.ABANDONED, "all good")),
    ],
)
def test_an_incomplete_end_reaches_the_core_with_how_and_why(
    message: msg.JobFinished, incomplete: tuple[Incomplete, str] | None
) -> None:
    assert _fact(message) == Finished("a", 1, False, None, incomplete)

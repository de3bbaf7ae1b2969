"""The daemon's way out (``runtime.shutdown``): the request, then the graceful stop of running runs.

The runtime's part is played by ``apply``: when the core's ``StopAll`` is carried out, the
runtime tells the facet which runs it sent ``stop`` to (``stopping``), and the host's answers
reach ``answered``.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from uidt.daemon.shutdown import Shutdown
from uidt.job.reasons import StopReason
from uidt.server import events as ev

RUNS = {7: "org.a", 8: "org.b", 9: "org.b"}


class Daemon:
    """Stands for the runtime: carries out ``StopAll`` by stopping :data:`RUNS`."""

    def __init__(self, runs: dict[int, str]) -> None:
        self.runs = runs
        self.applied: list[ev.CoreEvent] = []
        self.shutdown = Shutdown(self.apply)

    def apply(self, event: ev.CoreEvent) -> None:
        self.applied.append(event)
        if isinstance(event, ev.StopAll):
            for run_id, app in self.runs.items():
                self.shutdown.stopping(run_id, app)


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_request_before_the_wait_is_not_lost() -> None:
    shutdown = Daemon({}).shutdown
    shutdown.request()  # a SIGTERM that came before the main task waits
    await asyncio.wait_for(shutdown.wait_requested(), 10)


async def test_with_nothing_running_the_stop_returns_at_once() -> None:
    daemon = Daemon({})
    assert not daemon.shutdown.under_way
    await asyncio.wait_for(daemon.shutdown.stop_running_jobs(3600), 10)
    assert daemon.shutdown.under_way
    stopping, stop_all = daemon.applied
    assert isinstance(stopping, ev.SystemStopping)  # first: nothing the stop reschedules restarts
    assert isinstance(stop_all, ev.StopAll)
    assert stop_all.stop_reason is StopReason.DEVICE_STATE  # a system reason: rescheduled


async def test_the_stop_waits_for_every_run_to_answer() -> None:
    daemon = Daemon(RUNS)
    stopping = asyncio.create_task(daemon.shutdown.stop_running_jobs(3600))
    await _settle()
    daemon.shutdown.answered(lambda run, _app: run == 7)
    await _settle()
    assert not stopping.done()
    daemon.shutdown.answered(lambda _run, app: app == "org.b")  # its worker died: both runs
    await asyncio.wait_for(stopping, 10)


async def test_an_answer_from_before_the_shutdown_does_not_end_the_wait() -> None:
    daemon = Daemon({7: "org.a"})
    daemon.shutdown.stopping(3, "org.a")  # a stop sent before the shutdown: not waited for
    daemon.shutdown.answered(lambda run, _app: run == 3)  # and it answered
    stopping = asyncio.create_task(daemon.shutdown.stop_running_jobs(3600))
    await _settle()
    assert not stopping.done()
    daemon.shutdown.answered(lambda run, _app: run == 7)
    await asyncio.wait_for(stopping, 10)


async def test_a_run_that_never_answers_is_given_up_after_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    daemon = Daemon(RUNS)
    with caplog.at_level(logging.WARNING, logger="uidt.daemon"):
        await asyncio.wait_for(daemon.shutdown.stop_running_jobs(0), 10)
    assert "3 job(s) did not answer on_stop_job" in caplog.text

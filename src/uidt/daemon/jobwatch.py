"""Watching the job list as it changes: the job log lines, and the metrics when they are on.

:func:`follow` takes the job list (the objects of ``uidt jobs --json``, the ended records too)
after each change of the daemon's state (:class:`~uidt.daemon.changes.ChangeFeed`), at most
every :data:`MIN_INTERVAL_S` and at least every :data:`MAX_INTERVAL_S`, and hands it to each
observer: :class:`JobLog` and, with the ``metrics`` setting, :class:`uidt.daemon.metrics.JobMetrics`.
No hook in the scheduler core is needed; the price is that a run shorter than the interval
may go unseen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from uidt.job.reasons import StopReason

if TYPE_CHECKING:
    from uidt.daemon.runtime import Runtime

log = logging.getLogger("uidt.daemon.jobs")

MIN_INTERVAL_S = 0.2
MAX_INTERVAL_S = 2.0
#: The states of a scheduled job (the others are ended records: finished, failed, ...).
SCHEDULED = frozenset({"active", "pending", "ready", "waiting"})

JobKey = tuple[str, str | None, int]


class JobObserver(Protocol):
    def observe(
        self, scheduled: Iterable[dict[str, Any]], ended: Iterable[dict[str, Any]], now: float
    ) -> None: ...


def job_key(job: dict[str, Any]) -> JobKey:
    return (job["app"], job.get("namespace"), int(job["job_id"]))


def stop_reason_name(value: object) -> str:
    """A public stop reason's name in lower case (``undefined`` when unknown)."""
    try:
        return StopReason(int(value)).name.lower()  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return "undefined"


class JobLog:
    """Logs each run's start and end, with ``app``/``namespace``/``job_id`` as log fields."""

    def __init__(self) -> None:
        self._running: set[JobKey] = set()

    def observe(
        self, scheduled: Iterable[dict[str, Any]], ended: Iterable[dict[str, Any]], now: float
    ) -> None:
        current = {job_key(j): j for j in scheduled}
        last_end = {job_key(j): j for j in ended}
        running = {k for k, j in current.items() if j["state"] == "active"}
        for key in sorted(running - self._running, key=str):
            log.info("job %s/%d started", key[0], key[2], extra=_fields(key))
        for key in sorted(self._running - running, key=str):
            after = current.get(key) or last_end.get(key) or {}
            end = "rescheduled" if key in current else after.get("state", "unknown")
            reason = stop_reason_name(after.get("stop_reason"))
            log.info(
                "job %s/%d stopped: %s (stop reason %s)",
                key[0],
                key[2],
                end,
                reason,
                extra={**_fields(key), "end": end, "stop_reason": reason},
            )
        self._running = running


def _fields(key: JobKey) -> dict[str, Any]:
    return {"app": key[0], "namespace": key[1], "job_id": key[2]}


async def follow(
    runtime: Runtime, observers: Sequence[JobObserver], now: Callable[[], float]
) -> None:
    """Feed ``observers`` from ``runtime`` on every change (see the module docstring)."""
    import asyncio

    version = -1
    me = asyncio.current_task()
    while True:
        await runtime.changes.wait(version, MAX_INTERVAL_S)
        if me is not None and me.cancelling():
            # ChangeFeed.wait uses asyncio.wait_for, which (Python 3.11) returns instead of
            # raising when the change and the cancellation arrive together: honour it here.
            raise asyncio.CancelledError
        version = runtime.changes.version
        try:
            everything = runtime.jobs_snapshot(None, include_finished=True)
            scheduled = [j for j in everything if j["state"] in SCHEDULED]
            ended = [j for j in everything if j["state"] not in SCHEDULED]
            at = now()
            for observer in observers:
                observer.observe(scheduled, ended, at)
        except Exception:  # watching must never take the daemon down
            log.exception("could not observe the jobs")
        await asyncio.sleep(MIN_INTERVAL_S)

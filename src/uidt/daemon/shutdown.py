"""The daemon's way out: a request to stop, then the graceful stop of the running jobs.

A facet of the runtime (``runtime.shutdown``). A signal (SIGTERM, SIGINT) or ``POST /v1/shutdown``
calls :meth:`Shutdown.request`; the daemon's main task waits in :meth:`Shutdown.wait_requested`,
then calls :meth:`Shutdown.stop_running_jobs`: every running job is stopped with a system reason
(``STOP_REASON_DEVICE_STATE``, so the core reschedules it, as Android does for the jobs of a
device that shuts down) and the daemon waits, up to a bound, for the workers' answers. Before
the stop it tells the core ``SystemStopping``: from that moment the core starts nothing, so a job
scheduled (or rescheduled by its stop) during the shutdown reads ``pending`` with the reason
``SYSTEM_STOPPING``, never ``active``. The runtime also refuses to bind or start anything once
the stop is :attr:`Shutdown.under_way` (a second guard; the core asks for nothing by then). The
jobs stay persisted and run when the next daemon starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from uidt.job.reasons import InternalStopReason, StopReason
from uidt.server import events as ev

log = logging.getLogger("uidt.daemon")


class Shutdown:
    """The shutdown request and the graceful stop of one daemon's runs.

    Args:
        apply: the runtime's ``apply`` (hand an event to the core, then carry out its actions).
    """

    def __init__(self, apply: Callable[[ev.CoreEvent], None]) -> None:
        self._apply = apply
        self._requested = asyncio.Event()
        #: Runs stopped by the graceful stop that have not answered yet (run id -> app).
        self._stopping: dict[int, str] = {}
        self._all_answered = asyncio.Event()
        self._under_way = False

    @property
    def under_way(self) -> bool:
        """Set by :meth:`stop_running_jobs`: nothing new is bound or started from then on."""
        return self._under_way

    def request(self) -> None:
        """Ask the daemon to stop (a signal handler or the control API); returns at once."""
        self._requested.set()

    async def wait_requested(self) -> None:
        """Return once :meth:`request` was called (also when it was called before)."""
        await self._requested.wait()

    async def stop_running_jobs(self, timeout_s: float) -> None:
        """Stop every running job with a system reason (rescheduled), wait for the answers.

        Returns when every stopped run answered (``on_stop_job`` returned, the job finished or
        its worker died) or after ``timeout_s``, whichever comes first.
        """
        self._under_way = True
        self._all_answered.clear()
        self._apply(ev.SystemStopping())  # first: nothing the stop reschedules starts again
        self._apply(ev.StopAll(StopReason.DEVICE_STATE, InternalStopReason.UNKNOWN))
        if not self._stopping:
            return
        try:
            async with asyncio.timeout(timeout_s):
                await self._all_answered.wait()
        except TimeoutError:
            log.warning("shutting down: %d job(s) did not answer on_stop_job", len(self._stopping))

    def stopping(self, run_id: int, app: str) -> None:
        """The runtime sent ``stop`` to ``run_id`` of ``app``: wait for its answer."""
        if self._under_way:
            self._stopping[run_id] = app

    def answered(self, match: Callable[[int, str], bool]) -> None:
        """Forget the stopped runs that ``match`` (run id, app); wake the stop when none is left."""
        for run, app in list(self._stopping.items()):
            if match(run, app):
                del self._stopping[run]
        if not self._stopping:
            self._all_answered.set()

"""Test services for the host tests; each job's behaviour is chosen by ``extras["mode"]``.

Every callback appends a line to ``<extras["dir"]>/<job_id>.log`` so that the tests can tell
what ran (and what did not: ``on_stop_job`` after a SIGKILL).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path

from uidt import JobParameters, Notification
from uidt.app.service import JobService
from uidt.errors import InvalidJobError


def note(params: JobParameters, line: str) -> None:
    """Append ``line`` to the job's log file."""
    folder = params.extras.get("dir")
    if folder:
        with (Path(folder) / f"{params.job_id}.log").open("a") as out:
            out.write(line + "\n")


def _worker_fd() -> int:
    return int(sys.argv[sys.argv.index("--fd") + 1])


class ModeService(JobService):
    """Async callbacks; ``mode``: finish, run, raise, block, spawn, garbage, refused."""

    def __init__(self) -> None:
        super().__init__()
        self.stopped: dict[int, threading.Event] = {}

    async def on_start_job(self, params: JobParameters) -> bool:
        mode = params.extras.get("mode", "finish")
        note(params, f"start {params.run_id} {mode}")
        if mode == "raise":
            raise RuntimeError("boom in on_start_job")
        if mode == "block":
            await asyncio.Event().wait()
        if mode == "garbage":
            os.write(_worker_fd(), b"\xff\xff\xff\xffnot a frame")
            return True
        if mode == "spawn":
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-c", "import signal; signal.pause()"
            )
            note(params, f"child {child.pid}")
        if mode == "refused":
            try:
                await self.aset_notification(params, 1, Notification("work", "refused?"), 1)
            except InvalidJobError as exc:
                note(params, f"refused {exc}")
            self.job_finished(params, False)
            return True
        self.set_notification(
            params, params.job_id, Notification("work", f"job {params.job_id}"), 1
        )
        self.update_estimated_network_bytes(params, 1000, -1)
        self.update_transferred_network_bytes(params, 10, 0)
        if mode == "finish":
            self.job_finished(params, False)
        elif mode == "fail_with_a_number":  # a worker breaking the protocol
            assert self._connection is not None
            self._connection.call("job_finished", params, {"wants_reschedule": True, "failure": 5})
        elif mode == "fail":
            self.job_failed(params, OSError(28, "No space left on device"))
        elif mode == "run":
            event = self.stopped.setdefault(params.run_id, threading.Event())
            threading.Thread(target=self._loop, args=(params, event), daemon=True).start()
        return True

    def _loop(self, params: JobParameters, stopped: threading.Event) -> None:
        """The app's own thread: waits for the stop, then checks it the helper way."""
        stopped.wait()
        try:
            try:
                self.raise_if_stopped(params)
            except Exception:
                note(params, "swallowed")
        except BaseException as exc:
            note(params, f"escaped {type(exc).__name__}")

    async def on_network_changed(self, params: JobParameters) -> None:
        note(params, f"network {params.network}")

    def on_stop_job(self, params: JobParameters) -> bool:
        note(params, f"stop {params.run_id} {int(params.get_stop_reason())}")
        event = self.stopped.get(params.run_id)
        if event is not None:
            event.set()
        return True


class SyncService(JobService):
    """Plain callbacks (run in threads); ``mode``: finish, block, refused, raise_stop."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def on_start_job(self, params: JobParameters) -> bool:
        mode = params.extras.get("mode", "finish")
        note(params, f"start {params.run_id} {mode} {threading.current_thread().name}")
        if mode == "block":
            self.release.wait()
        if mode == "refused":
            try:
                self.set_notification(params, 1, Notification("work", "refused?"), 1)
            except InvalidJobError as exc:
                note(params, f"refused {exc}")
        if mode == "finish":
            self.set_notification(params, 1, Notification("work", "sync"), 0)
        self.job_finished(params, False)
        return True

    def on_stop_job(self, params: JobParameters) -> bool:
        note(params, f"stop {params.run_id}")
        raise ValueError("boom in on_stop_job")


class StaleService(JobService):
    """Keeps the first run's parameters and calls ``job_finished`` with them in the next run."""

    def __init__(self) -> None:
        super().__init__()
        self.first: JobParameters | None = None

    def on_start_job(self, params: JobParameters) -> bool:
        if self.first is None:
            self.first = params
        else:
            self.job_finished(self.first, True)
        self.job_finished(params, False)
        return True


class LimitService(JobService):
    """Logs the run's share of the global bandwidth limit at its start and at each change."""

    def on_start_job(self, params: JobParameters) -> bool:
        note(params, f"start {params.run_id} {params.bandwidth_limit}")
        return True

    def on_bandwidth_limit_changed(self, params: JobParameters) -> None:
        note(params, f"limit {params.run_id} {params.bandwidth_limit}")
        if params.extras.get("mode") == "raise":
            raise RuntimeError("boom in on_bandwidth_limit_changed")

    def on_stop_job(self, params: JobParameters) -> bool:
        note(params, f"stop {params.run_id}")
        return False

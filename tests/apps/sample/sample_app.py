"""A small test app whose behaviour is chosen per job by its extras.

``mode``: ``finish`` (notify, then finish), ``run`` (notify, run until stopped), ``silent``
(never notify), ``block`` (on_start_job never returns), ``raise`` (on_start_job raises),
``false`` (on_start_job returns False), ``task`` (notify, work in a task of its own that logs
``cleaned`` when cancelled), ``retry`` (notify, then ``job_finished(params, True)``: run again
after the backoff). ``end_policy`` (default 1, REMOVE) is the notification's end policy.
Every callback appends a line to ``extras["log"]``.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from uidt import JobParameters, Notification
from uidt.app.service import JobService


def _log(params: JobParameters, line: str) -> None:
    path = params.extras.get("log")
    if path:
        with Path(path).open("a") as out:
            out.write(line + "\n")


class SampleService(JobService):
    async def on_start_job(self, params: JobParameters) -> bool:
        mode = params.extras.get("mode", "finish")
        _log(params, f"start {params.job_id} {mode}")
        if mode == "raise":
            raise RuntimeError("boom in on_start_job")
        if mode == "false":
            return False
        if mode == "block":
            await asyncio.Event().wait()
        if mode != "silent":
            self.set_notification(
                params,
                params.job_id,
                Notification("work", f"job {params.job_id}", mode),
                int(params.extras.get("end_policy", 1)),
            )
        self.update_estimated_network_bytes(params, 1000, -1)
        self.update_transferred_network_bytes(params, 10, 0)
        if mode == "finish":
            self.job_finished(params, False)
        if mode == "retry":
            self.job_finished(params, True)
        if mode == "task":  # work in a task of its own, which cleans up when cancelled
            self._task = asyncio.get_running_loop().create_task(self._work(params))
        return True

    async def _work(self, params: JobParameters) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            _log(params, f"cleaned {params.job_id}")
            raise

    def on_network_changed(self, params: JobParameters) -> None:
        transport = params.network["transport"] if params.network else None
        _log(params, f"network {params.job_id} {transport}")

    def on_stop_job(self, params: JobParameters) -> bool:
        _log(
            params,
            f"stop {params.job_id} {int(params.get_stop_reason())} {threading.current_thread().name}",
        )
        return True


class Unguarded(SampleService):
    pass

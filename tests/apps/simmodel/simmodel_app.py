"""A test app that does its work the way ``uidt sim``'s simulated apps do (docs/simulation.md).

Per job, from its extras: ``work_ms`` (how long its bytes take to move while it runs; it calls
``job_finished`` when they are done), ``on_stop`` (``reschedule`` or ``drop``: its answer to
``on_stop_job``) and ``progress`` (a file that keeps the work done across runs, so a new run
continues where the last one stopped, as ``resumes = true`` does). A user-initiated job posts
its notification at once. Every start, stop and finish is appended to ``extras["log"]``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from uidt import JobParameters, Notification
from uidt.app.service import JobService


def _log(params: JobParameters, line: str) -> None:
    with Path(params.extras["log"]).open("a") as out:
        out.write(line + "\n")


def _done_ms(params: JobParameters) -> float:
    path = Path(params.extras["progress"])
    return float(path.read_text()) if path.exists() else 0.0


def _note_done(params: JobParameters, done_ms: float) -> None:
    Path(params.extras["progress"]).write_text(str(done_ms))


class ModelService(JobService):
    def __init__(self) -> None:
        super().__init__()
        self._runs: dict[int, tuple[float, asyncio.Task[None]]] = {}

    async def on_start_job(self, params: JobParameters) -> bool:
        _log(params, f"start {params.job_id}")
        if params.is_user_initiated_job():
            self.set_notification(
                params, params.job_id, Notification("transfers", f"job {params.job_id}"), 0
            )
        left_s = max(0.0, float(params.extras["work_ms"]) - _done_ms(params)) / 1000
        task = asyncio.get_running_loop().create_task(self._work(params, left_s))
        self._runs[params.job_id] = (time.monotonic(), task)
        return True

    async def _work(self, params: JobParameters, left_s: float) -> None:
        await asyncio.sleep(left_s)  # the bytes moving at the job's throughput
        self._runs.pop(params.job_id, None)
        _note_done(params, float(params.extras["work_ms"]))
        _log(params, f"finish {params.job_id}")
        self.job_finished(params, False)

    def on_stop_job(self, params: JobParameters) -> bool:
        started, task = self._runs.pop(params.job_id, (time.monotonic(), None))
        if task is not None:
            task.cancel()
            moved_ms = (time.monotonic() - started) * 1000
            _note_done(params, _done_ms(params) + moved_ms)
        _log(params, f"stop {params.job_id} {int(params.get_stop_reason())}")
        return bool(params.extras.get("on_stop", "reschedule") == "reschedule")

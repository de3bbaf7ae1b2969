"""A job's timeline picture for the Task Manager page (``GET /jobs/{app}/{job_id}/timeline.svg``).

The same picture as ``uidt timeline JOB -o job.svg`` (:mod:`uidt.timeline`): the job's states with
its pending reasons and stops in words, lanes for the device readings its constraints depend on,
a legend and local times. Drawn on request from what the runtime keeps; the device lanes are
bounded (:data:`uidt.timeline.history.MAX_READING_BANDS`), so a flapping device cannot make the
answer large.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from uidt.timeline.history import first_change_utc_ms, timeline_of_job
from uidt.timeline.svg import render_svg
from uidt.web.protocol import TaskManagerRuntime
from uidt.web.view import LIVE_STATES


def job_timeline_svg(
    runtime: TaskManagerRuntime, app: str, namespace: str | None, job_id: int, now: datetime
) -> str | None:
    """The job's timeline as SVG text, or ``None`` if the runtime knows no such job of ``app``.

    A scheduled job wins over ended records of the same id; among ended ones, the newest.
    """
    job = _find(runtime, app, namespace, job_id)
    if job is None:
        return None
    reasons: list[list[Any]] = []
    moved: list[list[int]] = []
    if job.get("state") in LIVE_STATES:  # an ended record carries its own histories
        reasons, moved = runtime.job_histories(app, namespace, job_id)
    readings = runtime.device_history.since(first_change_utc_ms(job) or 0)
    return render_svg(timeline_of_job(job, reasons, now, readings, moved))


def _find(
    runtime: TaskManagerRuntime, app: str, namespace: str | None, job_id: int
) -> dict[str, Any] | None:
    jobs = [
        j
        for j in runtime.jobs_snapshot(app, include_finished=True)
        if j.get("app") == app and j.get("job_id") == job_id and j.get("namespace") == namespace
    ]
    live = [j for j in jobs if j.get("state") in LIVE_STATES]
    found = live or jobs
    return found[-1] if found else None

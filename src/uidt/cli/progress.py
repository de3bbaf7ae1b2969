"""The progress bar of ``uidt download/upload --wait`` (rich, loaded only when it is shown).

Importing rich costs about 60 ms, so :func:`prefetch` starts that import on a background thread
while the command schedules its job (and, on a cold start, waits for the daemon), and
:class:`ProgressBar` is only created if the job is still running when first looked at.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

_RICH = "rich.progress"


def prefetch() -> threading.Thread:
    """Start importing rich in the background (a later import waits for it, never twice)."""
    thread = threading.Thread(target=_import_quietly, name="uidt-import-rich", daemon=True)
    thread.start()
    return thread


def _import_quietly() -> None:
    try:
        importlib.import_module(_RICH)
    except Exception:  # the foreground import reports the problem, if it still matters
        return


def transferred(job: dict[str, Any]) -> tuple[int, int | None]:
    """Bytes moved so far and the estimated total (``None``: unknown) of a job snapshot."""
    done = job.get("transferred_download_bytes", 0) + job.get("transferred_upload_bytes", 0)
    estimates = (job.get("estimated_download_bytes", -1), job.get("estimated_upload_bytes", -1))
    return done, sum(x for x in estimates if x > 0) or None


class ProgressBar:
    """One job's bar: bytes, speed, time left, and the state or notification text."""

    def __init__(self, job_id: int) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(f"job {job_id}", total=None, status="")

    def show(self, job: dict[str, Any]) -> None:
        """Draw the job snapshot ``job`` (as ``GET /v1/jobs`` lists it)."""
        done, total = transferred(job)
        note = job.get("notification") or {}
        status = job["state"] if job["state"] != "active" else note.get("text", "")
        self._progress.update(self._task, completed=done, total=total, status=status)

    def close(self) -> None:
        """Leave the last state of the bar on the terminal."""
        self._progress.stop()

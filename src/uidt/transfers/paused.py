"""The transfers the user paused: each one's job, kept until it is resumed or cancelled.

A pause ends the job (``job_finished(params, False)``: the scheduler forgets it), so the app keeps
what it needs to schedule the same job again: its ``JobInfo`` as JSON, one file per job id in
``<data dir>/transfers/paused/`` (private to the user, as the daemon's store is: it may hold the
job's request headers). The partial file and checkpoint stay beside the destination, where the
next run resumes from them.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from uidt.home.paths import resolve_paths
from uidt.job.info import JobInfo


def paused_dir(home: str | os.PathLike[str] | None = None) -> Path:
    """Where paused jobs are kept: the daemon's data directory (``home``, else ``UIDT_HOME`` or
    the XDG locations, as for every client of the daemon)."""
    return resolve_paths(home).data_dir / "transfers" / "paused"


def _path(job_id: int, home: str | os.PathLike[str] | None = None) -> Path:
    return paused_dir(home) / f"{int(job_id)}.json"


def save(job: JobInfo) -> None:
    """Keep ``job`` (replacing a kept one), readable by the user only."""
    folder = paused_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps(job.to_dict()).encode()
    path = _path(job.job_id)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load(job_id: int, home: str | os.PathLike[str] | None = None) -> JobInfo | None:
    """The kept job, or ``None`` when none is (never paused, or resumed or cancelled since)."""
    try:
        fd = os.open(_path(job_id, home), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            data: Any = json.loads(f.read())
        return JobInfo.from_dict(data)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def forget(job_id: int, home: str | os.PathLike[str] | None = None) -> None:
    """Drop the kept job (it was resumed or cancelled)."""
    with contextlib.suppress(FileNotFoundError):
        _path(job_id, home).unlink()

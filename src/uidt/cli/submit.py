"""Scheduling a transfer from the command line: attach to the same job, or say what is replaced.

``uidt download URL -o F`` run again while the same download (same URL, destination and
options) is queued or running attaches to it instead of starting it over; a different job for the
same destination replaces the earlier one, and the command says so.
"""

from __future__ import annotations

from typing import Any

from uidt.app.connection import DaemonConnection, app_path
from uidt.app.scheduler import JobScheduler
from uidt.cli.context import CliContext
from uidt.cli.reconnect import MAX_RECONNECTS, reconnect
from uidt.errors import DaemonConnectionLost
from uidt.job.info import JobInfo
from uidt.redact import redact
from uidt.transfers.names import TRANSFERS_APP


def schedule_or_attach(connection: DaemonConnection, job: JobInfo) -> dict[str, Any]:
    """Schedule ``job`` for the built-in transfer app with ``attach``; the daemon's answer.

    An older daemon answers only ``result``; the answer then has no ``generation`` (the
    follower takes the job's current one).
    """
    body = {"namespace": None, "job": job.to_dict(), "attach": True}
    answer = connection.request("POST", app_path(TRANSFERS_APP, "jobs"), body=body)
    return dict(answer) if isinstance(answer, dict) else {"result": answer}


def schedule_across_restarts(
    cli: CliContext, scheduler: JobScheduler, connection: DaemonConnection, job: JobInfo
) -> dict[str, Any]:
    """:func:`schedule_or_attach` as the visible app, asked again of the next daemon when the
    daemon went away before its answer arrived.

    A daemon killed (or restarted) between taking the request and answering it may or may not
    have stored the job; the answer is lost either way. Scheduling with ``attach`` is safe to
    repeat: the next daemon attaches to the job if it was stored (a persisted job comes back
    with it), else schedules it. The next daemon is awaited as ``--wait`` awaits it
    (:func:`uidt.cli.reconnect.reconnect`: one that was stopped on purpose is not started again).

    Raises:
        DaemonConnectionLost: The answer was lost more than ``MAX_RECONNECTS`` times in a row.
        DaemonError: No daemon came back (or it was stopped on purpose).
    """
    losses = 0
    while True:
        try:
            # The user typed this command: the CLI is the visible app while it schedules.
            with scheduler.activity():
                return schedule_or_attach(connection, job)
        except DaemonConnectionLost:
            losses += 1
            if losses > MAX_RECONNECTS:
                raise
            reconnect(cli)


def admission_note(answer: dict[str, Any], job: JobInfo, what: str, *, wait: bool) -> str:
    """The line for stderr when the job was attached to, or replaced an earlier one ("" else)."""
    ing = {"download": "downloading", "upload": "uploading"}.get(what, "running")
    if answer.get("attached"):
        then = f", following job {job.job_id}" if wait else f" (job {job.job_id})"
        return f"already {ing}{then}; not started again"
    replaced = answer.get("replaced")
    if not isinstance(replaced, dict):
        return ""
    old = replaced.get("job") or {}
    old_url = (old.get("extras") or {}).get("url")
    new_url = job.extras.get("url")
    shown = redact(str(old_url))  # printed: no password of the URL
    why = f" (it was {ing} {shown})" if old_url and old_url != new_url else " (other options)"
    return f"replaced the earlier {what} job {job.job_id}{why}"

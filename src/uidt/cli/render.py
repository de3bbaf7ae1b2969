"""Human-readable rendering of job snapshots (``uidt jobs``, ``uidt dumpsys``)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from uidt.cli.progress import why_waiting
from uidt.job.reasons import (
    crash_text,
    ended_on_its_own,
    incomplete_end_words,
    stop_reason_text,
)
from uidt.store.fleet import stop_request_text
from uidt.units import human_bytes

#: States of a scheduled job that is not running (any other state but ``active`` is an ended one).
_WAITING_STATES = frozenset({"pending", "ready", "waiting"})


def progress_text(job: dict[str, Any]) -> str:
    done = job.get("transferred_download_bytes", 0) or 0
    done += job.get("transferred_upload_bytes", 0) or 0
    est_down = job.get("estimated_download_bytes", -1)
    est_up = job.get("estimated_upload_bytes", -1)
    total = sum(x for x in (est_down, est_up) if x is not None and x > 0)
    if total > 0:
        return f"{human_bytes(done)} / {human_bytes(total)} ({100 * done / total:.0f}%)"
    return human_bytes(done) if done else ""


def jobs_table(jobs: list[dict[str, Any]]) -> Table:
    table = Table("app", "job", "state", "progress", "why / last stop", "notification")
    for job in jobs:
        table.add_row(*_job_cells(job))
    return table


def _ident(job: dict[str, Any]) -> str:
    ns = job.get("namespace")
    return f"{ns}:{job['job_id']}" if ns else str(job["job_id"])


def _job_cells(job: dict[str, Any]) -> tuple[str, ...]:
    """One row of ``uidt jobs``: app, job, state, progress, why, notification."""
    state = job["state"]
    why = ""
    said = False  # the why column says the notification's text (a reason to retry)
    if state in _WAITING_STATES:  # an ended record waits for nothing
        # what it waits for, then the words its last run left ("retrying: <reason>")
        why = escape(why_waiting(job))
        said = bool(_note_words(job)[1])
    last = stop_reason_text(job.get("stop_reason"), job.get("internal_stop_reason"))
    incomplete = incomplete_end_words(
        state, job.get("stop_reason"), job.get("internal_stop_reason"), job.get("incomplete")
    )
    if state == "failed":
        why = f"failed: {escape(str(job.get('failure') or 'no reason given'))}"
    elif incomplete is not None:  # "finished" alone would say the work was done
        why = incomplete
    elif ended_on_its_own(job.get("stop_reason"), job.get("internal_stop_reason")):
        if state in _WAITING_STATES:  # job_finished(wants_reschedule=True)
            why = f"{why}\nlast run: asked to retry".strip()
    elif last is not None and job.get("history"):
        why = f"{why}\nlast stop: {last}".strip()
    crash = crash_text(job.get("last_crash"))
    if crash is not None:
        why = f"{why}\nlast crash: {crash}".strip()
    if job.get("insecure"):
        state = f"{state}\nINSECURE"  # the server's certificate is not checked
    note = _note_words(job)[0] if said else _note_text(job)
    return job["app"], _ident(job), state, progress_text(job), why, note


def _note_words(job: dict[str, Any]) -> tuple[str, str]:
    note = job.get("notification") or {}
    return str(note.get("title") or ""), str(note.get("text") or "").strip()


def _note_text(job: dict[str, Any]) -> str:
    return " — ".join(x for x in _note_words(job) if x)


def fleet_table(jobs: list[dict[str, Any]]) -> Table:
    """``uidt jobs --fleet``: every host's jobs, with the host holding each (— for none)."""
    table = Table("host", "app", "job", "state", "progress", "why / last stop", "notification")
    for job in jobs:
        if job.get("this_host"):
            host = escape(str(job.get("host") or "this host"))
            table.add_row(f"{host}\n(this host)", *_job_cells(job))
            continue
        why = ""
        last = job.get("last_change")
        if last:
            why = f"last: {last.get('state')} ({last.get('reason')})"
        request = job.get("stop_request")
        if request is not None:
            why = f"{stop_request_text(request)}\n{why}".strip()
        table.add_row(
            escape(str(job.get("host") or "—")),
            job["app"],
            _ident(job),
            escape(str(job["state"])),
            "",
            escape(why),
            _note_text(job),
        )
    return table

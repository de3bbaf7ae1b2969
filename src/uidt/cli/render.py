"""Human-readable rendering of job snapshots (``uidt jobs``, ``uidt dumpsys``)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from uidt.job.reasons import InternalStopReason, PendingReason, StopReason
from uidt.units import human_bytes

PENDING_WORDS: dict[int, str] = {
    PendingReason.CONSTRAINT_CONNECTIVITY: "waiting for a suitable network",
    PendingReason.CONSTRAINT_CHARGING: "waiting for the charger",
    PendingReason.CONSTRAINT_BATTERY_NOT_LOW: "waiting for the battery to recover",
    PendingReason.CONSTRAINT_STORAGE_NOT_LOW: "waiting for free storage",
    PendingReason.DEVICE_STATE: "held back by the device state (thermal, memory, power saver)",
    PendingReason.USER: "stopped by the user",
    PendingReason.APP: "the app cannot run now",
    PendingReason.BACKGROUND_RESTRICTION: "the app is restricted in the background",
    PendingReason.QUOTA: "out of quota",
    PendingReason.EXECUTING: "running",
    PendingReason.CONSTRAINT_MINIMUM_LATENCY: "waiting for its backoff delay",
}


def reason_name(enum: type[StopReason] | type[InternalStopReason], value: int | None) -> str:
    if value is None:
        return ""
    try:
        return enum(value).name
    except ValueError:
        return str(value)


def pending_words(reasons: list[int]) -> str:
    words = []
    for r in reasons:
        try:
            words.append(PENDING_WORDS.get(r, PendingReason(r).name.lower().replace("_", " ")))
        except ValueError:
            words.append(str(r))
    return "; ".join(words)


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
        ns = job.get("namespace")
        ident = f"{ns}:{job['job_id']}" if ns else str(job["job_id"])
        state = job["state"]
        if state in ("active", "finished", "cancelled", "user-stopped"):
            why = ""
        elif job.get("pending_reasons"):
            why = pending_words(job["pending_reasons"])
        else:
            why = ""
        stop = job.get("stop_reason")
        if stop is not None and job.get("history"):
            last = reason_name(StopReason, stop)
            internal = reason_name(InternalStopReason, job.get("internal_stop_reason"))
            if last != "UNDEFINED" or internal not in ("", "UNKNOWN"):
                why = f"{why}\nlast stop: {last}/{internal}".strip()
        note = job.get("notification") or {}
        note_text = " — ".join(x for x in (note.get("title"), note.get("text")) if x)
        table.add_row(job["app"], ident, state, progress_text(job), why, note_text)
    return table

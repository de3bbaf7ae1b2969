"""The Task Manager's view model: jobs snapshots grouped for the page, with transfer rates.

Everything here is plain data (JSON-ready dicts) computed from ``runtime.jobs_snapshot()`` and
the notifications the page knows about; the HTML is drawn from it by :mod:`uidt.web.render`.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any

from uidt.job.reasons import (
    crash_text,
    ended_on_its_own,
    incomplete_end_words,
    pending_words,
    stop_reason_text,
)
from uidt.store.fleet import stop_request_text

STATE_WORDS: dict[str, str] = {
    "active": "Running",
    "pending": "Queued for a slot",
    "ready": "Ready",
    "waiting": "Waiting",
    "user-stopped": "Stopped by the user",
    "finished": "Finished",
    "failed": "Failed",
    "cancelled": "Cancelled",
}

#: The states of a job that is still scheduled; any other state is an ended job's (``finished``,
#: ``cancelled``, ``user-stopped``: dropped by the Task Manager's Stop, ...): such a job is never
#: listed as waiting and cannot be cancelled.
LIVE_STATES = frozenset({"active", "pending", "ready", "waiting"})
#: How many ended jobs the page lists.
MAX_ENDED = 10
#: Transfer rates are averaged over this window.
RATE_WINDOW_MS = 3000


def job_key(job: dict[str, Any]) -> str:
    """A stable identity string for a job (app, namespace, id)."""
    return f"{job['app']}\x1f{job.get('namespace') or ''}\x1f{job['job_id']}"


def dom_id(prefix: str, key: str) -> str:
    """An HTML id that is stable for a key and safe in any context."""
    return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _transferred(job: dict[str, Any]) -> int:
    return int(job.get("transferred_download_bytes") or 0) + int(
        job.get("transferred_upload_bytes") or 0
    )


def _estimated(job: dict[str, Any]) -> int:
    total = 0
    for name in ("estimated_download_bytes", "estimated_upload_bytes"):
        value = job.get(name)
        if value is not None and value > 0:
            total += int(value)
    return total


class RateTracker:
    """Bytes per second of running jobs, from successive snapshots.

    Args:
        window_ms: the rate is the change over (about) this much time.
    """

    def __init__(self, window_ms: int = RATE_WINDOW_MS) -> None:
        self.window_ms = window_ms
        self._samples: dict[str, deque[tuple[int, int]]] = {}

    def update(self, jobs: list[dict[str, Any]], now_ms: int) -> dict[str, int | None]:
        """Record the running jobs' byte counts at ``now_ms``; return their rates.

        A job seen once (or restarted) has no rate yet (``None``): the page shows "—", not a
        made-up 0 B/s.
        """
        rates: dict[str, int | None] = {}
        running = set()
        for job in jobs:
            if job.get("state") != "active":
                continue
            key = job_key(job)
            running.add(key)
            total = _transferred(job)
            samples = self._samples.setdefault(key, deque())
            if samples and total < samples[-1][1]:
                samples.clear()  # the transfer restarted
            if samples and samples[-1][0] >= now_ms:
                samples.pop()
            samples.append((now_ms, total))
            while len(samples) > 2 and now_ms - samples[1][0] >= self.window_ms:
                samples.popleft()
            oldest, newest = samples[0], samples[-1]
            elapsed = newest[0] - oldest[0]
            rates[key] = round((newest[1] - oldest[1]) * 1000 / elapsed) if elapsed > 0 else None
        for key in list(self._samples):
            if key not in running:
                del self._samples[key]
        return rates


def job_view(job: dict[str, Any], rate: int | None) -> dict[str, Any]:
    """One job as the page shows it."""
    key = job_key(job)
    note = job.get("notification") or {}
    done, total = _transferred(job), _estimated(job)
    progress = note.get("progress")
    internal = job.get("internal_stop_reason")
    if progress is None and total > 0 and job.get("state") == "active":
        progress = min(1.0, done / total)
    state = str(job.get("state", "waiting"))
    live = state in LIVE_STATES
    # "finished" is the spec's word for a dropped job too: say it did not complete.
    incomplete = incomplete_end_words(
        state, job.get("stop_reason"), internal, job.get("incomplete")
    )
    return {
        "key": key,
        "id": dom_id("job", key),
        "app": job["app"],
        "namespace": job.get("namespace"),
        "job_id": job["job_id"],
        "state": state,
        "state_words": STATE_WORDS.get(state, state)
        if incomplete is None
        else incomplete[0].upper() + incomplete[1:],
        "incomplete": incomplete is not None,
        "user_initiated": bool(job.get("user_initiated")),
        "title": note.get("title") or "",
        "text": note.get("text") or "",
        "notification_id": note.get("id"),
        "actions": _actions(note) if state == "active" else [],
        "progress": None if progress is None else float(progress),
        "bytes_done": done,
        "bytes_total": total,
        "rate": rate,
        "pending": pending_words(
            list(job.get("pending_reasons") or []), job.get("required_host_labels") or ()
        )
        if live and state != "active"
        else [],
        "last_stop": None
        if state == "failed" or ended_on_its_own(job.get("stop_reason"), internal)
        else stop_reason_text(job.get("stop_reason"), internal),
        "failure": (job.get("failure") or "no reason given") if state == "failed" else None,
        "last_crash": crash_text(job.get("last_crash")),
        "num_failures": int(job.get("num_failures") or 0),
        "earliest_run_time": job.get("earliest_run_time") if live else None,
        "history": list(job.get("history") or []),
        "cancellable": live and state != "active",
    }


def _actions(note: dict[str, Any]) -> list[dict[str, str]]:
    """A notification's buttons: ``[{"id": ..., "title": ...}]``."""
    return [{"id": str(a), "title": str(t)} for a, t in note.get("actions") or []]


def other_host_job(job: dict[str, Any]) -> dict[str, Any]:
    """A job another host holds (``GET /v1/fleet/jobs``'s object), for the page."""
    note = job.get("notification") or {}
    request = job.get("stop_request")
    return {
        "id": dom_id("other", job_key(job)),
        "app": job["app"],
        "namespace": job.get("namespace"),
        "job_id": job["job_id"],
        "host": job.get("host") or "—",
        "state_words": str(job.get("state", "")),
        "title": note.get("title") or "",
        "text": note.get("text") or "",
        "user_initiated": bool(job.get("user_initiated")),
        "stop": None if request is None else stop_request_text(request),
    }


def _other_hosts(fleet: dict[str, Any] | None) -> dict[str, Any]:
    """``host_id`` (``None`` off a shared store) and ``other_apps``: the other hosts' jobs by
    app, each app with its Stop."""
    if fleet is None:
        return {"host_id": None, "other_apps": []}
    by_app: dict[str, list[dict[str, Any]]] = {}
    for job in fleet.get("jobs", []):
        by_app.setdefault(job["app"], []).append(other_host_job(job))
    return {
        "host_id": fleet.get("host_id"),
        "other_apps": [
            {"app": app, "id": dom_id("other-app", app), "jobs": jobs}
            for app, jobs in sorted(by_app.items())
        ],
    }


def build_view(
    jobs: list[dict[str, Any]],
    notifications: list[dict[str, Any]],
    rates: dict[str, int | None],
    fleet: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Group the jobs for the page.

    Returns:
        ``apps``: apps with running user-initiated jobs, each with those jobs (one Stop per app);
        ``waiting``: jobs that are scheduled but not running (each can be cancelled);
        ``ended``: the last few jobs that ended (finished, cancelled, stopped by the user, ...),
        newest first, one entry per job; ``notifications``: notifications that no running job
        owns any more (detached at the job's end); ``host_id``: this host on a shared store
        (else ``None``); ``other_apps``: the jobs other hosts hold, by app (:func:`_other_hosts`).
    """
    apps: dict[str, list[dict[str, Any]]] = {}
    waiting: list[dict[str, Any]] = []
    ended: dict[str, dict[str, Any]] = {}
    for job in jobs:
        state = job.get("state", "waiting")
        view = job_view(job, rates.get(job_key(job)))
        if state not in LIVE_STATES:
            ended.pop(view["key"], None)  # the newest record of a job comes last
            ended[view["key"]] = view
        elif state == "active":
            if job.get("user_initiated"):
                apps.setdefault(job["app"], []).append(view)
        else:
            waiting.append(view)
    detached = [
        {
            "id": dom_id("note", f"{n['app']}\x1f{n['id']}"),
            "app": n["app"],
            "title": n.get("title") or "",
            "text": n.get("text") or "",
            "progress": n.get("progress"),
            "notification_id": n["id"],
            "actions": _actions(n),
        }
        for n in notifications
        if not n.get("user_initiated_job")
    ]
    return {
        "apps": [
            {"app": app, "id": dom_id("app", app), "jobs": app_jobs}
            for app, app_jobs in sorted(apps.items())
        ],
        "waiting": waiting,
        "ended": list(ended.values())[-MAX_ENDED:][::-1],
        "notifications": detached,
        **_other_hosts(fleet),
    }

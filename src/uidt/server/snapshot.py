"""Read-only views of the core: ``uidt jobs --json`` objects and ``uidt dumpsys --json``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from uidt.clock import utc_from_millis
from uidt.job.reasons import completed
from uidt.server.concurrency import limits_now
from uidt.server.crashes import crash_json
from uidt.server.status import JobStatus, key_order

if TYPE_CHECKING:
    from uidt.server.context import JobServiceContext
    from uidt.server.core import SchedulerCore


def _iso(utc_ms: int | None) -> str | None:
    return None if utc_ms is None else utc_from_millis(utc_ms).isoformat()


def tls_unchecked(extras: dict[str, Any]) -> bool:
    """Whether a job's extras turn the server certificate check off (``"request":
    {"insecure": true}``, what ``uidt download/upload --insecure`` schedules), so every view
    of the job says so."""
    request = extras.get("request")
    return isinstance(request, dict) and request.get("insecure") is True


def job_snapshot(svc: SchedulerCore, status: JobStatus) -> dict[str, Any]:
    """One object of ``uidt jobs --json`` (interface.md).

    ``state`` is the job's :class:`~uidt.server.jobstate.JobState`. A scheduled job is never
    ``user-stopped``: the Task Manager's Stop drops the app's user-visible jobs (their ended
    records read ``user-stopped``) and holds the others, which wait (pending reason USER) until
    the app is visible again.
    """
    key = status.key
    ctx = svc.run_table.get(key)
    down, up = status.estimated_bytes()
    notification = svc.notifications.shown_of(ctx)
    if ctx is None:
        # Ended: what its last run showed. Between runs: the notification that run left, while
        # it stays posted (a transfer waiting for its backoff says "retrying: <reason>").
        notification = (
            status.last_notification if status.state.terminal else svc.notifications.left_by(key)
        )
    figures = _bytes(status, ctx, down, up)
    return {
        "app": key.app,
        "namespace": key.namespace,
        "job_id": key.job_id,
        "generation": status.generation,
        "service": status.job.service,
        "state": status.state.value,
        "failure": status.failure,
        "completed": completed(
            status.state.value,
            status.last_stop_reason,
            status.last_internal_stop_reason,
            status.incomplete,
        ),
        "incomplete": _incomplete(status, figures),
        "user_initiated": status.treated_as_uij,
        "internal_flags": status.internal_flags,
        "stop_reason": status.last_stop_reason,
        "internal_stop_reason": status.last_internal_stop_reason,
        "pending_reasons": [int(r) for r in status.pending_reasons],
        "constraints": job_constraints(status),
        "required_host_labels": list(status.job.required_host_labels),
        "num_failures": status.num_failures,
        "num_system_stops": status.num_system_stops,
        "cumulative_runtime_ms": status.cumulative_runtime_ms,
        "earliest_run_time": (
            None
            if status.earliest_run_elapsed is None
            else _iso(svc.utc_ms(status.earliest_run_elapsed))
        ),
        "notification": notification,
        "insecure": tls_unchecked(status.job.extras),
        **figures,
        "history": [
            {"time": _iso(h.utc_ms), "state": h.state, "reason": h.reason} for h in status.history
        ],
        "last_crash": crash_json(
            status.last_crash, _iso(status.last_crash.utc_ms) if status.last_crash else None
        ),
    }


def ended_snapshot(svc: SchedulerCore, status: JobStatus) -> dict[str, Any]:
    """The record of a job that ended: :func:`job_snapshot` and its pending-reason changes
    (``reasons_history``, ``[[utc_ms, [reason, …]], …]``) and its bytes done over time
    (``bytes_history``, ``[[utc_ms, bytes], …]``), which its timeline needs once the job itself is
    gone."""
    record = job_snapshot(svc, status)
    record["reasons_history"] = [
        [int(t), [int(r) for r in reasons]] for t, reasons in status.reasons_history
    ]
    record["bytes_history"] = status.byte_samples.to_json()
    return record


def job_constraints(status: JobStatus) -> list[str]:
    """The device constraints the app asked for, by name (``uidt timeline`` draws their lanes)."""
    job = status.job
    named = [
        ("network", job.required_network is not None),
        ("charging", job.requires_charging),
        ("battery_not_low", job.requires_battery_not_low),
        ("storage_not_low", job.requires_storage_not_low),
    ]
    return [name for name, wanted in named if wanted]


def jobs_snapshot(
    svc: SchedulerCore,
    app: str | None = None,
    *,
    include_ended: bool = False,
    job_id: int | None = None,
) -> list[dict[str, Any]]:
    """Every scheduled job (of one app; with ``job_id``, of that id only), sorted by identity,
    then optionally the ended ones."""
    every = svc.jobs.values() if app is None else svc.app_jobs.get(app, {}).values()
    statuses = [s for s in every if job_id is None or s.key.job_id == job_id]
    jobs = [job_snapshot(svc, s) for s in sorted(statuses, key=lambda s: key_order(s.key))]
    if include_ended:
        jobs += [
            dict(j)
            for j in svc.ended
            if (app is None or j["app"] == app) and (job_id is None or j["job_id"] == job_id)
        ]
    return jobs


def dump(svc: SchedulerCore) -> dict[str, Any]:
    """``uidt dumpsys --json``."""
    max_total, ui_reserved = limits_now(svc)
    return {
        "jobs": jobs_snapshot(svc),
        "ended": list(svc.ended),
        "notifications": [
            {
                "app": r.app,
                "id": r.notification_id,
                "title": r.notification.get("title"),
                "text": r.notification.get("text"),
                "progress": r.notification.get("progress"),
                "actions": list(r.notification.get("actions", [])),
                "user_initiated_job": r.user_initiated_job,
                "job_id": r.job.job_id if r.job is not None else None,
            }
            for r in svc.notifications.shown.values()
        ],
        "anrs": [
            {"app": a["app"], "job_id": a["job_id"], "reason": a["reason"], "time": _iso(a["time"])}
            for a in svc.anrs
        ],
        "device": svc.device.to_dict(),
        "concurrency": {
            "steady_limit": svc.steady_limit,
            "max_total": max_total,
            "ui_reserved": ui_reserved,
            "running": len(svc.run_table),
            "queued": len(svc.pending),
            "runs": [
                {
                    "run_id": c.run_id,
                    "app": c.app,
                    "job_id": c.status.key.job_id,
                    "verb": c.verb.name,
                    "user_visible": c.user_visible,
                    "min_guarantee_ms": c.min_guarantee_ms,
                    "max_runtime_ms": c.effective_max_ms(),
                }
                for c in svc.run_table
            ],
        },
        "apps": {
            "bound": sorted(svc.run_table.bound()),
            "visible": sorted(svc.registry.visible()),
            "user_stopped": sorted(svc.registry.user_stopped()),
            "background_restricted": sorted(
                app for app in svc.registry if svc.registry.is_background_restricted(app)
            ),
        },
        "settings": svc.settings.to_dict(),
    }


def _incomplete(status: JobStatus, figures: dict[str, int]) -> dict[str, Any] | None:
    """``incomplete`` of ``uidt jobs --json``: how and why the app ended the job without its
    work done, and where it stopped (its last run's bytes done, and the total, if known)."""
    if status.incomplete is None:
        return None
    how, reason = status.incomplete
    sent = figures["transferred_upload_bytes"] > 0 or figures["estimated_upload_bytes"] > 0
    side = "upload" if sent and figures["transferred_download_bytes"] <= 0 else "download"
    total = figures[f"estimated_{side}_bytes"]
    return {
        "how": how.value,
        "reason": reason,
        "bytes_done": max(0, figures[f"transferred_{side}_bytes"]),
        "bytes_total": total if total >= 0 else None,
    }


def _bytes(status: JobStatus, ctx: JobServiceContext | None, down: int, up: int) -> dict[str, int]:
    """The byte figures: the running run's; an ended job's last run's; else the job's estimate."""
    if ctx is not None:
        figures = (
            ctx.estimated_download_bytes,
            ctx.estimated_upload_bytes,
            ctx.transferred_download_bytes,
            ctx.transferred_upload_bytes,
        )
    elif status.state.terminal and status.last_run_bytes is not None:
        figures = status.last_run_bytes
    else:
        figures = (down, up, 0, 0)
    names = ("estimated_download", "estimated_upload", "transferred_download", "transferred_upload")
    return {f"{name}_bytes": value for name, value in zip(names, figures, strict=True)}

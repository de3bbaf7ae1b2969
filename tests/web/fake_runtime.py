"""A fake daemon runtime with the members the Task Manager page uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from uidt.daemon.bandwidth_limit import BandwidthLimiter
from uidt.device.history import DeviceReading
from uidt.notify.events import RawPayload
from uidt.store.base import prune_readings
from uidt.testing.clock import FakeClock


def job(
    app: str,
    job_id: int,
    state: str = "active",
    *,
    namespace: str | None = None,
    user_initiated: bool = True,
    title: str | None = None,
    progress: float | None = None,
    done: int = 0,
    total: int = -1,
    pending_reasons: list[int] | None = None,
    stop_reason: int | None = None,
    internal_stop_reason: int | None = None,
) -> dict[str, Any]:
    """One object as ``uidt jobs --json`` prints it."""
    notification = None
    if title is not None:
        notification = {"title": title, "text": f"{done} of {total} bytes", "progress": progress}
    return {
        "app": app,
        "namespace": namespace,
        "job_id": job_id,
        "state": state,
        "user_initiated": user_initiated,
        "stop_reason": stop_reason,
        "internal_stop_reason": internal_stop_reason,
        "pending_reasons": pending_reasons or [],
        "num_failures": 0,
        "num_system_stops": 0,
        "earliest_run_time": None,
        "notification": notification,
        "estimated_download_bytes": total,
        "estimated_upload_bytes": -1,
        "transferred_download_bytes": done,
        "transferred_upload_bytes": 0,
        "history": [{"time": "2026-11-29T04:00:00+00:00", "state": state, "reason": "scheduled"}],
    }


class FakeDeviceHistory:
    """The runtime's device readings, as a list the test sets."""

    def __init__(self) -> None:
        self.readings: list[DeviceReading] = []

    def since(self, utc_ms: int) -> list[DeviceReading]:
        return prune_readings(self.readings, utc_ms, len(self.readings))


class _Stoppable(Protocol):
    def user_stop(self, app: str) -> list[dict[str, Any]]: ...


class FakeFleet:
    """``runtime.fleet``: the other hosts' jobs the test sets (``None``: not shared); Stop is
    the runtime's own."""

    def __init__(self, runtime: _Stoppable) -> None:
        self._runtime = runtime
        self.shared: dict[str, Any] | None = None

    async def stop_app(self, app: str) -> dict[str, Any]:
        return {"stopped": self._runtime.user_stop(app), "claimed": [], "sent": []}

    def others(self) -> dict[str, Any] | None:
        return self.shared


class FakeRuntime:
    """Jobs in a list; Stop drops the app's jobs, Cancel drops one job; calls are recorded."""

    def __init__(self, jobs: list[dict[str, Any]] | None = None) -> None:
        self.jobs: list[dict[str, Any]] = jobs or []
        self.notifications: list[dict[str, Any]] = []
        self.notification_sinks: list[Callable[[str, RawPayload], None]] = []
        self.web_login: Callable[[], str | None] = lambda: None
        self.stopped: list[str] = []
        self.cancelled: list[tuple[str, str | None, int]] = []
        self.bandwidth_limit = BandwidthLimiter(
            None, clock=FakeClock(), running=list, send=lambda _run, _share: None
        )
        self.clicks: list[tuple[str, int, str]] = []
        self.snapshots = 0
        self.reasons: dict[tuple[str, int], list[list[Any]]] = {}
        self.device_history = FakeDeviceHistory()
        self.moved: dict[tuple[str, int], list[list[int]]] = {}
        self.fleet = FakeFleet(self)

    def jobs_snapshot(self, app: str | None, *, include_finished: bool) -> list[dict[str, Any]]:
        self.snapshots += 1
        return [
            dict(j)
            for j in self.jobs
            if (app is None or j["app"] == app)
            and (include_finished or j["state"] not in ("finished", "cancelled"))
        ]

    def dump(self) -> dict[str, Any]:
        return {"jobs": self.jobs_snapshot(None, include_finished=False),
                "notifications": list(self.notifications), "anrs": [], "device": {}}  # fmt: skip

    def user_stop(self, app: str) -> list[dict[str, Any]]:
        if not any(j["app"] == app for j in self.jobs):
            raise LookupError(f"No such app: {app}")
        self.stopped.append(app)
        running = [j for j in self.jobs if j["app"] == app and j["state"] == "active"]
        self.jobs = [j for j in self.jobs if not (j["app"] == app and j["user_initiated"])]
        return running

    def cancel(self, app: str, namespace: str | None, job_id: int) -> None:
        self.cancelled.append((app, namespace, job_id))
        self.jobs = [
            j
            for j in self.jobs
            if not (j["app"] == app and j["namespace"] == namespace and j["job_id"] == job_id)
        ]

    def job_histories(
        self, app: str, namespace: str | None, job_id: int
    ) -> tuple[list[list[Any]], list[list[int]]]:
        return list(self.reasons.get((app, job_id), [])), list(self.moved.get((app, job_id), []))

    def click_notification_action(
        self, app: str, notification_id: int, action_id: str
    ) -> dict[str, Any]:
        """A click is accepted when a job's or a listed notification has the action."""
        shown = [
            (j["app"], j["job_id"], (j["notification"] or {}).get("actions", [])) for j in self.jobs
        ] + [(n["app"], n["id"], n.get("actions", [])) for n in self.notifications]
        for owner, nid, actions in shown:
            if (owner, nid) == (app, notification_id):
                if action_id not in [a for a, _ in actions]:
                    raise ValueError(f"notification {nid} of {app} has no action {action_id!r}")
                self.clicks.append((app, notification_id, action_id))
                return {"app": app, "id": notification_id, "action": action_id}
        raise ValueError(f"{app} shows no notification {notification_id}")

    def set_progress(self, app: str, job_id: int, done: int) -> None:
        """Move a running job's transfer forward (notification and byte counters)."""
        for j in self.jobs:
            if j["app"] == app and j["job_id"] == job_id:
                total = j["estimated_download_bytes"]
                j["transferred_download_bytes"] = done
                if j["notification"] is not None:
                    j["notification"] = dict(j["notification"], progress=done / total,
                                             text=f"{done} of {total} bytes")  # fmt: skip

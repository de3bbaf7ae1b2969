"""What the Task Manager page needs from the daemon's runtime (``uidt.daemon.runtime.Runtime``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from uidt.device.history import DeviceReading
from uidt.notify.events import RawPayload


class BandwidthControl(Protocol):
    """The global transfer limit (``uidt.daemon.bandwidth_limit.BandwidthLimiter``)."""

    def describe(self) -> str:
        """The limit in force, in one line."""
        ...

    def change(self, text: str) -> object:
        """Put a rate, ``off`` or a timetable in force (``SettingsError`` when malformed)."""
        ...

    def reset(self) -> None:
        """Back to the ``bandwidth_limit`` setting."""
        ...


class ReadingHistory(Protocol):
    """Where the runtime keeps its device readings."""

    def since(self, utc_ms: int) -> list[DeviceReading]:
        """The readings from ``utc_ms`` on, with the one before it."""
        ...


class FleetControl(Protocol):
    """The fleet view and the Stop on every host (``uidt.daemon.fleet.FleetDesk``)."""

    async def stop_app(self, app: str) -> dict[str, Any]:
        """The Task Manager's Stop here and, on a shared store, on every other host:
        ``{"stopped": [...], "claimed": [...], "sent": [stop requests]}``."""
        ...

    def others(self) -> dict[str, Any] | None:
        """On a shared store, ``{"host_id": this host, "jobs": [other hosts' jobs]}`` as last
        read (``GET /v1/fleet/jobs``'s objects with ``this_host`` false); ``None`` on a store no
        other host shares."""
        ...


class TaskManagerRuntime(Protocol):
    """The runtime members the web page uses; tests pass a fake with the same members."""

    notification_sinks: list[Callable[[str, RawPayload], None]]
    web_login: Callable[[], str | None]

    @property
    def bandwidth_limit(self) -> BandwidthControl:
        """The global transfer limit the page shows and changes."""
        ...

    @property
    def fleet(self) -> FleetControl:
        """The fleet view and the Stop that reaches every host."""
        ...

    @property
    def device_history(self) -> ReadingHistory:
        """The device readings the daemon keeps (:class:`uidt.daemon.devicehistory.DeviceHistory`)."""
        ...

    def jobs_snapshot(self, app: str | None, *, include_finished: bool) -> list[dict[str, Any]]:
        """Jobs as ``uidt jobs --json``."""
        ...

    def dump(self) -> dict[str, Any]:
        """``uidt dumpsys --json`` (the page reads its ``notifications``)."""
        ...

    def user_stop(self, app: str) -> list[dict[str, Any]]:
        """The Task Manager's Stop; returns the jobs that were running."""
        ...

    def cancel(self, app: str, namespace: str | None, job_id: int) -> None:
        """Cancel one job, as the app would."""
        ...

    def job_histories(
        self, app: str, namespace: str | None, job_id: int
    ) -> tuple[list[list[Any]], list[list[int]]]:
        """A scheduled job's pending-reason changes ``[[utc_ms, [reason, …]], …]`` and bytes done
        over time ``[[utc_ms, bytes], …]`` (empty lists for a job not scheduled)."""
        ...

    def click_notification_action(
        self, app: str, notification_id: int, action_id: str
    ) -> dict[str, Any]:
        """A click on a notification's button (``ValueError``: no such notification/action)."""
        ...

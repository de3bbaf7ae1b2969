"""What the Task Manager page needs from the daemon's runtime (``uidt.daemon.runtime.Runtime``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from uidt.notify.events import RawPayload


class TaskManagerRuntime(Protocol):
    """The runtime members the web page uses; tests pass a fake with the same members."""

    notification_sinks: list[Callable[[str, RawPayload], None]]
    web_login: Callable[[], str | None]

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

    def click_notification_action(
        self, app: str, notification_id: int, action_id: str
    ) -> dict[str, Any]:
        """A click on a notification's button (``ValueError``: no such notification/action)."""
        ...

"""A service connection that records what a built-in transfer service tells the daemon."""

from __future__ import annotations

import asyncio
from typing import Any

from uidt.job.params import JobParameters
from uidt.transfers.names import CHANNEL


class RecordingConnection:
    """A ServiceConnection that records every call; ``ended`` is set by the run's last call."""

    def __init__(self) -> None:
        self.channels = frozenset({CHANNEL})
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.ended = asyncio.Event()

    def call(self, method: str, params: JobParameters, args: dict[str, Any]) -> None:
        self.calls.append((method, args))
        if method == "job_finished":
            self.ended.set()

    def last_notification(self) -> dict[str, Any]:
        """The last notification the service set."""
        notes = [args for method, args in self.calls if method == "set_notification"]
        return dict(notes[-1]["notification"])

    def last_text(self) -> str:
        """The text of the last notification the service set."""
        return str(self.last_notification()["text"])

    def ends(self) -> list[dict[str, Any]]:
        """Every ``job_finished`` the service sent."""
        return [args for method, args in self.calls if method == "job_finished"]

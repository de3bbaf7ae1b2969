"""``JobScheduler`` on its own: what it asks the daemon, and a daemon that goes away under it."""

from __future__ import annotations

from typing import Any

import pytest

from uidt.app.scheduler import JobScheduler
from uidt.errors import DaemonError


class _Gone:
    """A connection whose daemon answers the activity's start, then is killed."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def request(self, method: str, path: str, *, body: Any = None, query: Any = None) -> Any:
        self.calls.append((method, path))
        if method == "POST":
            return {"token": "t1"}
        raise DaemonError("lost the connection to the uidt daemon: reset by peer")


def test_an_activity_whose_daemon_was_killed_ends_quietly() -> None:
    gone = _Gone()
    scheduler = JobScheduler("org.example.photos", _connection=gone)  # type: ignore[arg-type]
    with scheduler.activity():
        pass  # the daemon is killed here; its visibility state died with it
    assert [method for method, _ in gone.calls] == ["POST", "DELETE"]


def test_an_activity_that_cannot_start_still_raises() -> None:
    class Down(_Gone):
        def request(self, method: str, path: str, *, body: Any = None, query: Any = None) -> Any:
            raise DaemonError("no uidt daemon is running")

    scheduler = JobScheduler("org.example.photos", _connection=Down())  # type: ignore[arg-type]
    with pytest.raises(DaemonError), scheduler.activity():
        pass

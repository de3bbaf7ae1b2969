"""``JobScheduler`` on its own: what it asks the daemon, and a daemon that goes away under it."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from uidt.app.connection import DaemonConnection
from uidt.app.scheduler import JobScheduler
from uidt.errors import DaemonError
from uidt.home.paths import resolve_paths


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


def _answer_once_then_die(listener: socket.socket) -> None:
    """A daemon that answers one request (an activity's start), then is killed: its socket file
    stays behind and nobody listens on it any more."""
    client, _ = listener.accept()
    with client:
        client.recv(65536)
        body = json.dumps({"token": "t1"}).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        client.sendall(head.encode() + body)
    listener.close()


def test_ending_an_activity_never_starts_a_daemon(tmp_path: Path) -> None:
    """The activity lived in the killed daemon's memory: ending it is nothing to a new one, and
    a daemon started for it would be one behind the user's back (``uidt download --wait`` leaves
    one stopped on purpose stopped)."""
    paths = resolve_paths(tmp_path / "home")
    paths.ensure()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(paths.socket))
    listener.listen(1)
    server = threading.Thread(target=_answer_once_then_die, args=(listener,), daemon=True)
    server.start()
    connection = DaemonConnection(paths)  # autostarts, as the command line's does
    try:
        with JobScheduler("org.example.photos", _connection=connection).activity():
            server.join(10)  # the daemon is killed here
        assert not paths.pid_file.exists()
    finally:
        _stop_started_daemon(paths.pid_file)


def _stop_started_daemon(pid_file: Path) -> None:
    deadline = time.monotonic() + 20
    while pid_file.exists() and time.monotonic() < deadline:
        try:
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            return
        time.sleep(0.1)  # noqa: TID251 - waiting for another process to exit, bounded

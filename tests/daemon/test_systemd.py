"""The daemon's side of systemd's protocol: the passed socket, sd_notify and the watchdog."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.daemon.systemd import ServiceManager, _listener_problem, listen_fds


def test_listen_fds_are_taken_only_when_they_are_meant_for_this_process() -> None:
    env = {"LISTEN_FDS": "1", "LISTEN_PID": str(os.getpid()), "LISTEN_FDNAMES": "uidt.socket"}
    assert listen_fds(env) == [3]
    assert env == {}  # removed: the daemon's workers must not take them for theirs
    inherited = {"LISTEN_FDS": "1", "LISTEN_PID": "1"}  # a parent's
    assert listen_fds(inherited) == []
    assert inherited == {}
    assert listen_fds({"LISTEN_FDS": "x", "LISTEN_PID": str(os.getpid())}) == []
    assert listen_fds({}) == []


def test_a_passed_socket_must_listen_on_the_homes_path(tmp_path: Path) -> None:
    home_socket = tmp_path / "uidt.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as right:
        right.bind(str(home_socket))
        assert _listener_problem(right, home_socket) is not None  # bound, not listening
        right.listen(1)
        assert _listener_problem(right, home_socket) is None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as elsewhere:
        elsewhere.bind(str(tmp_path / "other.sock"))
        elsewhere.listen(1)
        problem = _listener_problem(elsewhere, home_socket)
        assert problem is not None
        assert str(home_socket) in problem
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as datagram:
        datagram.bind(str(tmp_path / "d.sock"))
        assert "ListenStream" in str(_listener_problem(datagram, tmp_path / "d.sock"))


@pytest.fixture
def manager_socket(tmp_path: Path) -> Iterator[socket.socket]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify.sock"))
        sock.settimeout(5)
        yield sock


def test_notify_sends_one_datagram_per_state(tmp_path: Path, manager_socket: socket.socket) -> None:
    env = {"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "4000000"}
    manager = ServiceManager.from_env(env)
    assert env == {}
    assert manager.watchdog_s == 2.0  # half the timeout
    assert manager.notify("READY=1\nSTATUS=serving")
    assert manager_socket.recv(4096) == b"READY=1\nSTATUS=serving"


def test_notify_reaches_an_abstract_socket() -> None:
    name = f"uidt-test-notify-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(5)
        assert ServiceManager(notify_socket="@" + name).notify("WATCHDOG=1")
        assert listener.recv(64) == b"WATCHDOG=1"


def test_without_a_manager_nothing_is_sent_and_no_watchdog_runs() -> None:
    manager = ServiceManager.from_env({})
    assert not manager.notify("READY=1")
    assert manager.watchdog_s is None
    other = ServiceManager.from_env({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_s is None  # meant for another process


def test_a_manager_that_went_away_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    assert not ServiceManager(notify_socket=str(tmp_path / "gone.sock")).notify("READY=1")

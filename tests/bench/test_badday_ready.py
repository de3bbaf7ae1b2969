"""The bad day's readiness wait: no client's clock starts before its lane accepts."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import pytest
from bench.badday.ready import NotReadyError, SharedZero, main, ready_argv, wait_accepting


@pytest.fixture
def bound() -> Iterator[socket.socket]:
    """A socket bound to a loopback port but not listening yet: connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def steps(on_call: Callable[[int], None] | None = None) -> Callable[[], float]:
    """A clock that moves one second per reading (``on_call`` sees the reading's number)."""
    calls = [0]

    def clock() -> float:
        calls[0] += 1
        if on_call is not None:
            on_call(calls[0])
        return float(calls[0])

    return clock


def test_a_listening_address_is_ready_at_once(bound: socket.socket) -> None:
    bound.listen()
    assert wait_accepting("127.0.0.1", port_of(bound), deadline_s=5.0, clock=steps()) == 1.0


def test_refused_connections_are_tried_again_until_the_address_listens(
    bound: socket.socket,
) -> None:
    # The proxy starts listening only after the first attempts were refused (the harness bug
    # of issue #20: the client's first connection was refused and cost it its back-off).
    def listen_late(call: int) -> None:
        if call == 4:
            bound.listen()

    waited = wait_accepting("127.0.0.1", port_of(bound), deadline_s=100.0, clock=steps(listen_late))
    assert waited >= 3.0


def test_an_address_that_never_listens_fails_clearly_at_the_deadline(
    bound: socket.socket,
) -> None:
    port = port_of(bound)
    with pytest.raises(NotReadyError, match=rf"127\.0\.0\.1:{port} did not accept .* within 3 s"):
        wait_accepting("127.0.0.1", port, deadline_s=3.0, clock=steps())


def test_the_command_line_says_why_and_exits_1(
    bound: socket.socket, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["127.0.0.1", str(port_of(bound)), "--deadline", "0"]) == 1
    assert "not ready:" in capsys.readouterr().err


def test_the_command_line_as_the_harness_runs_it(bound: socket.socket) -> None:
    bound.listen()
    argv = ready_argv("127.0.0.1", port_of(bound), deadline_s=10.0)
    assert argv[0] == sys.executable
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("accepting after")


def test_every_lane_gets_the_same_zero_once_the_last_is_ready() -> None:
    zero = SharedZero(3, clock=steps())
    got: list[float] = []
    lock = threading.Lock()

    def lane() -> None:
        value = zero.wait()
        with lock:
            got.append(value)

    threads = [threading.Thread(target=lane) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert got == [1.0, 1.0, 1.0]  # the clock was read once, when the last lane arrived


def test_a_lane_that_fails_releases_the_others_with_an_error() -> None:
    zero = SharedZero(2, clock=steps())
    errors: list[BaseException] = []

    def waiting_lane() -> None:
        try:
            zero.wait()
        except NotReadyError as exc:
            errors.append(exc)

    thread = threading.Thread(target=waiting_lane)
    thread.start()
    zero.abort()  # the other lane's proxy never listened
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(errors) == 1
    assert "no shared time zero" in str(errors[0])

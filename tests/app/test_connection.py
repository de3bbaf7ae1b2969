"""``DaemonConnection``'s own HTTP/1.1 exchange, against a real Unix-socket peer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from uidt.app.connection import DaemonConnection
from uidt.errors import DaemonError, InvalidJobError, ProtocolError
from uidt.home.paths import resolve_paths
from uidt.testing.unixqueue import full_listen_queue


@contextmanager
def _peer(home: Path, answer: bytes) -> Iterator[list[bytes]]:
    """A one-shot server on the home's socket: it records the request and sends ``answer``."""
    paths = resolve_paths(home)
    paths.ensure()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(paths.socket))
    server.listen(1)
    requests: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            while len(body) < length:
                body += conn.recv(65536)
            requests.append(head + b"\r\n\r\n" + body)
            conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield requests
    finally:
        thread.join(10)
        server.close()


def _conn(home: Path) -> DaemonConnection:
    return DaemonConnection(resolve_paths(home), autostart=False, timeout=10)


def test_a_json_answer_with_content_length(tmp_path: Path) -> None:
    answer = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"ok": true}'
    with _peer(tmp_path, answer) as requests:
        assert _conn(tmp_path).request("POST", "/v1/x", {"a": 1}, {"q": "v w", "no": None}) == {
            "ok": True
        }
    head, _, body = requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/x?q=v+w HTTP/1.1"
    assert b"Connection: close" in lines
    assert b"Content-Type: application/json" in lines
    assert body == b'{"a": 1}'


def test_a_chunked_answer(tmp_path: Path) -> None:
    answer = (
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n4\r\n: 2}\r\n0\r\n\r\n'
    )
    with _peer(tmp_path, answer):
        assert _conn(tmp_path).request("GET", "/v1/x") == {"a": 2}


def test_an_error_answer_maps_to_its_exception(tmp_path: Path) -> None:
    body = b'{"error": {"type": "invalid_job", "message": "nope"}}'
    answer = b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    with _peer(tmp_path, answer), pytest.raises(InvalidJobError, match="nope"):
        _conn(tmp_path).request("GET", "/v1/x")


@pytest.mark.parametrize(
    "answer",
    [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"",
        b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 12\r\n\r\n{"ok": true}',
        b'HTTP/1.1 200 OK\r\nContent-Length: 12, 2\r\n\r\n{"ok": true}',
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Bad\x01: 1\r\n\r\n{}",
    ],
    ids=[
        "garbage",
        "short body",
        "bad chunk size",
        "no answer",
        "conflicting Content-Lengths",
        "a Content-Length list",
        "an unknown Transfer-Encoding",
        "a control character in a header name",
    ],
)
def test_a_broken_answer_is_a_daemon_error(tmp_path: Path, answer: bytes) -> None:
    with _peer(tmp_path, answer), pytest.raises(DaemonError, match="lost the connection"):
        _conn(tmp_path).request("GET", "/v1/x")


def test_an_interim_100_continue_before_the_answer_is_skipped(tmp_path: Path) -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    with _peer(tmp_path, answer):
        assert _conn(tmp_path).request("POST", "/v1/x", {"a": 1}) == {}


def test_bytes_after_the_answer_are_not_read_as_part_of_it(tmp_path: Path) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 500 Oops\r\n\r\n"
    with _peer(tmp_path, answer):
        assert _conn(tmp_path).request("GET", "/v1/x") == {}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/x y"), ("GET", "/v1/x\r\nX-Injected: 1"), ("GET", ""), ("GE T", "/v1/x")],
)
def test_a_request_line_that_would_change_meaning_is_never_sent(
    tmp_path: Path, method: str, path: str
) -> None:
    """Refused before connecting (h11 refused it while framing): nothing reaches the daemon."""
    with pytest.raises(ProtocolError, match="not a request the daemon can be sent"):
        _conn(tmp_path).request(method, path)


def test_a_large_answer_over_several_reads(tmp_path: Path) -> None:
    body = b'{"items": "%s"}' % (b"x" * 200_000)
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    with _peer(tmp_path, answer):
        assert _conn(tmp_path).request("GET", "/v1/x") == {"items": "x" * 200_000}


def test_no_daemon_without_autostart_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DaemonError, match="no uidt daemon is running"):
        _conn(tmp_path).request("GET", "/v1/ping")


@contextmanager
def _full_queue(home: Path) -> Iterator[tuple[socket.socket, list[socket.socket]]]:
    """A listening socket at the home's path whose kernel queue is full (nobody accepts yet)."""
    paths = resolve_paths(home)
    paths.ensure()
    with full_listen_queue(paths.socket) as (server, queued):
        yield server, queued


def test_a_daemon_whose_queue_stays_full_is_reported_busy(tmp_path: Path) -> None:
    with _full_queue(tmp_path), pytest.raises(DaemonError, match="did not take the connection"):
        DaemonConnection(resolve_paths(tmp_path), autostart=False, timeout=0.2).request(
            "GET", "/v1/ping"
        )


def test_a_full_queue_is_waited_for_not_an_error(tmp_path: Path) -> None:
    """A burst of clients (or a slowloris) fills the daemon's listen queue faster than a loaded
    daemon accepts: a client waits for room, as a blocking connect does, within its timeout."""
    answer = b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"ok": true}'
    with _full_queue(tmp_path) as (server, queued):

        def serve() -> None:  # a daemon that falls behind for a moment, then catches up
            server.settimeout(10)  # (bounded: a client that gave up never comes)
            for _ in queued[:-1]:  # (the last filler found the queue full)
                server.accept()[0].close()
            conn, _ = server.accept()  # the client's, once it found room
            with conn:
                while b"\r\n\r\n" not in conn.recv(65536):
                    pass
                conn.sendall(answer)

        # Not a wait for an event: the delay is the scenario (the request meets a full queue);
        # the outcome does not depend on its length.
        behind = threading.Timer(0.3, serve)
        behind.daemon = True
        behind.start()
        try:
            assert _conn(tmp_path).request("GET", "/v1/ping") == {"ok": True}
        finally:
            behind.join(10)


def _start(home: Path, *daemon_args: str) -> DaemonConnection:
    return DaemonConnection(resolve_paths(home), autostart=True, daemon_args=daemon_args)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--set", "no_such_setting=1"), "unknown setting 'no_such_setting'"),
        (("--web", "192.0.2.1:8765"), "loopback only"),
    ],
)
def test_a_daemon_that_cannot_start_says_why(
    tmp_path: Path, args: tuple[str, ...], reason: str
) -> None:
    with pytest.raises(DaemonError, match="could not start") as failed:
        _start(tmp_path, *args).start_daemon()
    assert reason in str(failed.value)
    assert "daemon-start.log" in str(failed.value)  # where the rest of its output is


def test_the_reason_is_this_starts_not_an_older_one(tmp_path: Path) -> None:
    # An earlier failed start left its own reason in daemon-start.log
    with pytest.raises(DaemonError, match="no_such_setting"):
        _start(tmp_path, "--set", "no_such_setting=1").start_daemon()
    # A later start fails for another reason: that one is reported
    (tmp_path / "config.toml").write_text('web = "10.9.8.7:80"\n')
    with pytest.raises(DaemonError, match="loopback only") as failed:
        _start(tmp_path).start_daemon()
    assert "no_such_setting" not in str(failed.value)


def test_a_taken_web_port_is_the_reason(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(
            DaemonError, match=f"cannot serve the Task Manager page on 127.0.0.1:{port}"
        ):
            _start(tmp_path, "--device", "fake", "--web", f"127.0.0.1:{port}").start_daemon()
    assert not (tmp_path / "uidt.sock").exists()  # it never answered, and left no socket behind
    assert not (tmp_path / "daemon.pid").exists()

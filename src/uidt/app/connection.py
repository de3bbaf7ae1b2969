"""Talking to the daemon over its Unix socket: HTTP/1.1 + JSON, sync and async.

``DaemonConnection`` starts the daemon in the background when none is running for the home
(and says so on stderr); errors come back as the exception kinds of :mod:`uidt.wire`.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from uidt.app.httpanswer import MalformedAnswer, read_answer
from uidt.errors import DaemonConnectionLost, DaemonError, ProtocolError
from uidt.home.lock import live_holder
from uidt.home.paths import Paths
from uidt.wire import error_from_wire

#: How long to wait for a freshly started daemon to open its socket.
STARTUP_TIMEOUT_S = 15.0


#: Errors that mean "nobody listens on the socket" (rather than a broken conversation).
_NO_DAEMON = (FileNotFoundError, ConnectionRefusedError, NotADirectoryError)


def connect_socket(path: Path, timeout: float) -> socket.socket:
    """A connection to the daemon's socket, waiting up to ``timeout`` for room in its queue.

    The connect is a blocking one bounded by ``SO_SNDTIMEO``: with ``settimeout`` Python would
    connect without blocking, and a Unix socket whose listen queue is full (a burst of clients, a
    slowloris, a loaded daemon behind on accepting) then fails at once with ``EAGAIN`` instead of
    waiting for the daemon to take the connection. Raises :class:`BlockingIOError` when the queue
    stayed full for the whole ``timeout``.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        seconds = int(timeout)
        micros = max(int((timeout - seconds) * 1_000_000), 0 if seconds else 1)  # 0 = forever
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", seconds, micros))
        sock.connect(str(path))
        sock.settimeout(timeout)  # the request and its answer
    except BaseException:
        sock.close()
        raise
    return sock


def _exchange(
    sock: socket.socket, method: str, target: str, payload: bytes | None
) -> tuple[int, bytes]:
    """Send one request (``Connection: close``) and read its answer: status, body.

    The answer is read by :mod:`uidt.app.httpanswer`, not :mod:`http.client` (whose import, with
    :mod:`email`, cost every ``uidt`` command about 25 ms before its first request) nor h11 (the
    daemon's parser, ~10 ms).
    """
    head = [f"{method} {target} HTTP/1.1", "Host: localhost", "Connection: close"]
    if payload is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    elif method in ("POST", "PUT", "PATCH"):
        head.append("Content-Length: 0")
    sock.sendall("\r\n".join(head).encode("ascii") + b"\r\n\r\n" + (payload or b""))
    return read_answer(sock.recv, method)


def _visible_ascii(text: str) -> bool:
    return bool(text) and all("!" <= char <= "~" for char in text)


def build_path(path: str, query: dict[str, Any] | None = None) -> str:
    """Request target with a query string (``None`` values left out)."""
    if query:
        items = {
            k: ("1" if v is True else str(v))
            for k, v in query.items()
            if v is not None and v is not False
        }
        if items:
            return f"{path}?{urlencode(items)}"
    return path


def app_path(app: str, *rest: str | int) -> str:
    parts = "/".join(quote(str(p), safe="") for p in rest)
    return f"/v1/apps/{quote(app, safe='')}" + (f"/{parts}" if parts else "")


class DaemonConnection:
    """A synchronous client of one daemon (one request per HTTP connection)."""

    def __init__(
        self,
        paths: Paths,
        *,
        autostart: bool = True,
        timeout: float = 60.0,
        daemon_args: tuple[str, ...] = (),
    ) -> None:
        self.paths = paths
        self.autostart = autostart
        self.timeout = timeout
        self.daemon_args = daemon_args
        #: Called right after a daemon process is spawned (work that may overlap its start-up).
        self.on_spawn: Callable[[], object] | None = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON answer; raise the mapped error."""
        try:
            return self._request_once(method, path, body, query)
        except _NO_DAEMON as exc:
            if not self.autostart:
                raise DaemonError(
                    f"no uidt daemon is running for {self.paths.data_dir} "
                    f"(socket {self.paths.socket}): {exc.strerror}"
                ) from exc
        self.start_daemon()
        return self._request_once(method, path, body, query)

    def _request_once(self, method: str, path: str, body: Any, query: dict[str, Any] | None) -> Any:
        payload = None if body is None else json.dumps(body).encode()
        target = build_path(path, query)
        if not method.isalpha() or not method.isascii() or not _visible_ascii(target):
            # never sent: a space or a line break in a path would change the request's meaning
            raise ProtocolError(f"not a request the daemon can be sent: {method} {target!r}")
        try:
            sock = connect_socket(self.paths.socket, self.timeout)
        except _NO_DAEMON:
            raise
        except BlockingIOError as exc:
            raise DaemonError(
                f"the uidt daemon did not take the connection within {self.timeout:g} s "
                f"(its queue at {self.paths.socket} stayed full: it is overloaded or stopped)"
            ) from exc
        except OSError as exc:
            raise DaemonError(f"cannot reach the uidt daemon: {exc}") from exc
        try:
            status, raw = _exchange(sock, method, target, payload)
        except (OSError, MalformedAnswer) as exc:
            raise DaemonConnectionLost(f"lost the connection to the uidt daemon: {exc}") from exc
        finally:
            sock.close()
        try:
            data = json.loads(raw) if raw else None
        except ValueError as exc:
            raise DaemonError(f"the daemon sent a malformed answer: {raw[:200]!r}") from exc
        if status >= 400:
            raise error_from_wire(data, status)
        return data

    def start_daemon(self) -> None:
        """Start a daemon for this home in the background and wait until it answers.

        A daemon this process already started for the home (the command line's early start,
        :mod:`uidt.cli.launch`) is waited for instead of starting a second one.
        """
        # The spawn code (subprocess, logging) is loaded only when a daemon must be started.
        from uidt.app.spawn import spawn_daemon, start_failure_reason, take_started

        proc = take_started(self.paths)
        if proc is None:
            _refuse_if_socket_unit_owns(self.paths)
            proc = spawn_daemon(self.paths, self.daemon_args)
            take_started(self.paths)  # waited for here: a later start must not wait for it again
        log = self.paths.start_log
        if self.on_spawn is not None:
            self.on_spawn()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._socket_answers():
                return
            # Ours exited: fine if another daemon won the home's lock (two commands started at
            # once), whose socket is then waited for; else it failed.
            if proc.poll() is not None and live_holder(self.paths.lock) in (None, proc.pid):
                reason = start_failure_reason(self.paths, proc.pid)
                raise DaemonError(
                    f"the uidt daemon could not start: {reason} (its output is in {log})"
                    if reason
                    else f"the uidt daemon exited with status {proc.returncode} while starting; "
                    f"see {log}"
                )
            time.sleep(0.005)  # noqa: TID251 - polling a socket another process is opening
        raise DaemonError(f"the uidt daemon did not open {self.paths.socket} in time; see {log}")

    def _socket_answers(self) -> bool:
        try:
            self._request_once("GET", "/v1/ping", None, None)
        except (OSError, DaemonError):
            return False
        return True


def _refuse_if_socket_unit_owns(paths: Paths) -> None:
    """Start no daemon where systemd's ``uidt.socket`` owns the path (:mod:`uidt.home.socketunit`)."""
    from uidt.home.socketunit import not_listening_message, socket_unit_owner

    unit = socket_unit_owner(paths)
    if unit is not None:
        raise DaemonError(not_listening_message(paths, unit))

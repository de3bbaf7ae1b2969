"""Talking to the daemon over its Unix socket: HTTP/1.1 + JSON, sync and async.

``DaemonConnection`` starts the daemon in the background when none is running for the home
(and says so on stderr); errors come back as the exception kinds of :mod:`uidt.wire`.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from uidt.daemon.paths import Paths
from uidt.errors import DaemonError
from uidt.wire import error_from_wire

#: How long to wait for a freshly started daemon to open its socket.
STARTUP_TIMEOUT_S = 15.0


#: Errors that mean "nobody listens on the socket" (rather than a broken conversation).
_NO_DAEMON = (FileNotFoundError, ConnectionRefusedError, NotADirectoryError)


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self._path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


def build_path(path: str, query: dict[str, Any] | None = None) -> str:
    """Request target with a query string (``None`` values left out)."""
    if query:
        items = {
            k: ("1" if v is True else str(v)) for k, v in query.items() if v not in (None, False)
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
        conn = _UnixHTTPConnection(self.paths.socket, self.timeout)
        try:
            payload = None if body is None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            conn.request(method, build_path(path, query), body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except _NO_DAEMON:
            raise
        except (OSError, http.client.HTTPException) as exc:
            raise DaemonError(f"lost the connection to the uidt daemon: {exc}") from exc
        finally:
            conn.close()
        try:
            data = json.loads(raw) if raw else None
        except ValueError as exc:
            raise DaemonError(f"the daemon sent a malformed answer: {raw[:200]!r}") from exc
        if response.status >= 400:
            raise error_from_wire(data, response.status)
        return data

    def start_daemon(self) -> None:
        """Start a daemon for this home in the background and wait until it answers."""
        try:
            self.paths.ensure()
        except OSError as exc:
            raise DaemonError(f"cannot create the uidt home {self.paths.data_dir}: {exc}") from exc
        log = self.paths.log_dir / "daemon-start.log"
        args = [sys.executable, "-m", "uidt", "--home", str(self.paths.data_dir), "daemon"]
        extra = list(self.daemon_args)
        args += extra if "--foreground" in extra else ["--foreground", *extra]
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                env=dict(os.environ),
            )
        print(
            f"uidt: started the daemon (pid {proc.pid}, home {self.paths.data_dir})",
            file=sys.stderr,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None and not self._socket_answers():
                raise DaemonError(
                    f"the uidt daemon exited with status {proc.returncode} while starting; see {log}"
                )
            if self._socket_answers():
                return
            time.sleep(0.02)  # noqa: TID251 - polling a socket another process is opening
        raise DaemonError(f"the uidt daemon did not open {self.paths.socket} in time; see {log}")

    def _socket_answers(self) -> bool:
        try:
            self._request_once("GET", "/v1/ping", None, None)
        except (OSError, DaemonError):
            return False
        return True

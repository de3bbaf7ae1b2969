"""A small HTTP proxy on loopback for tests, recording each request it carries.

:class:`RecordingProxy` speaks what a client behind a proxy sends: ``CONNECT host:port`` (a
tunnel, for ``https://``) and absolute-URI requests (``GET http://host:port/path``, for plain
``http://``, forwarded to the server in origin form with ``Connection: close``). Each request is
kept in :attr:`RecordingProxy.records` with the local port of the proxy's own connection to the
server, so a test can prove a transfer went *through* it: the server saw exactly those ports.

Faults: ``credentials`` makes it answer ``407`` to a request without that
``Proxy-Authorization``; ``reset_after`` cuts the first ``reset_times`` connections (with a
reset) after that many bytes from the server.

It runs in threads with blocking sockets, so it serves async and sync tests alike.
"""

from __future__ import annotations

import base64
import contextlib
import select
import socket
import struct
import threading
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

_HEAD_END = b"\r\n\r\n"
_HOP_FIELDS = (b"proxy-authorization", b"proxy-connection", b"connection", b"keep-alive")


@dataclass
class ProxyRecord:
    """One request the proxy carried (or refused)."""

    method: str
    target: str
    """``host:port`` for ``CONNECT``, the absolute URL otherwise."""
    authorization: str | None
    """The ``Proxy-Authorization`` it came with."""
    status: int = 0
    """``407`` when refused, ``502`` when the server could not be reached, else ``200``."""
    upstream_port: int = 0
    """The local port of the proxy's connection to the server."""


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while _HEAD_END not in data:
        more = sock.recv(65536)
        if not more:
            return b"", b""
        data += more
    head, _, rest = data.partition(_HEAD_END)
    return head, rest


def _field(lines: list[bytes], name: bytes) -> str | None:
    for line in lines:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().decode("latin-1")
    return None


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 (see the module docstring); a context manager.

    Args:
        credentials: ``"user:password"`` the proxy insists on (``407`` without it).
        reset_after: Bytes from the server after which a connection is reset.
        reset_times: How many connections ``reset_after`` cuts.
    """

    def __init__(
        self,
        *,
        credentials: str | None = None,
        reset_after: int | None = None,
        reset_times: int = 1,
    ) -> None:
        self.wanted = (
            "Basic " + base64.b64encode(credentials.encode()).decode() if credentials else None
        )
        self.reset_after = reset_after
        self.resets_left = reset_times
        self.records: list[ProxyRecord] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._open: set[socket.socket] = set()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def upstream_ports(self) -> set[int]:
        """The local ports of every connection the proxy made to a server."""
        return {r.upstream_port for r in self.records if r.upstream_port}

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._open.add(client)
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            head, rest = _read_head(client)
            if not head:
                return
            request_line, *lines = head.split(b"\r\n")
            method, target, version = request_line.decode("latin-1").split(" ", 2)
            record = ProxyRecord(method, target, _field(lines, b"proxy-authorization"))
            with self._lock:
                self.records.append(record)
            if self.wanted is not None and record.authorization != self.wanted:
                record.status = 407
                client.sendall(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n'
                    b"Connection: close\r\n\r\n"
                )
                return
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                address = (host.strip("[]"), int(port))
            else:
                parts = urlsplit(target)
                address = (parts.hostname or "", parts.port or 80)
            try:
                upstream = socket.create_connection(address, timeout=10)
            except OSError:
                record.status = 502
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with self._lock:
                self._open.add(upstream)
            record.upstream_port = upstream.getsockname()[1]
            record.status = 200
            if method == "CONNECT":
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    upstream.sendall(rest)
                self._relay(client, upstream, rewrite=False)
                return
            parts = urlsplit(target)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            kept = [
                line for line in lines if line.split(b":")[0].strip().lower() not in _HOP_FIELDS
            ]
            forward = [f"{method} {path} {version}".encode("latin-1"), *kept, b"Connection: close"]
            upstream.sendall(b"\r\n".join(forward) + _HEAD_END + rest)
            self._relay(client, upstream, rewrite=True)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with self._lock:
                        self._open.discard(sock)
                    with contextlib.suppress(OSError):
                        sock.close()

    def _take_reset(self) -> int | None:
        with self._lock:
            if self.reset_after is None or self.resets_left <= 0:
                return None
            self.resets_left -= 1
            return self.reset_after

    def _relay(self, client: socket.socket, upstream: socket.socket, *, rewrite: bool) -> None:
        """Copy both ways until the server ends; ``rewrite``: mark its answer ``close``."""
        cut = self._take_reset()
        from_server = 0
        pending_head = b"" if rewrite else None
        while not self._stopped.is_set():
            ready, _, _ = select.select([client, upstream], [], [], 30)
            if not ready:
                return
            for sock in ready:
                data = sock.recv(65536)
                if sock is client:
                    if not data:
                        return
                    upstream.sendall(data)
                    continue
                if not data:
                    if pending_head:
                        client.sendall(pending_head)
                    return
                if pending_head is not None:
                    pending_head += data
                    if _HEAD_END not in pending_head:
                        continue
                    head, _, body = pending_head.partition(_HEAD_END)
                    status, *fields = head.split(b"\r\n")
                    fields = [
                        f for f in fields if f.split(b":")[0].strip().lower() not in _HOP_FIELDS
                    ]
                    data = b"\r\n".join([status, *fields, b"Connection: close"]) + _HEAD_END + body
                    pending_head = None
                if cut is not None and from_server + len(data) > cut:
                    client.sendall(data[: max(0, cut - from_server)])
                    _reset(client)
                    return
                from_server += len(data)
                client.sendall(data)

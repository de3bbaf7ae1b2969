"""A small HTTP/1.1 server for the control API: JSON requests and answers on the daemon's socket.

The control API needs little of HTTP: a method, a path with ``{name}`` segments, a query string,
an optional ``Content-Length`` (or chunked) body, and a JSON answer with ``Content-Length``.
This module does exactly that on asyncio streams, so the daemon does not import a web framework
before it can answer (aiohttp cost it about 250 ms of every cold start). Persistent connections
(HTTP/1.1 keep-alive) are supported; pipelined requests are answered in order.

Errors of the protocol itself (malformed request, unknown route, wrong method, body too large)
are answered as :class:`HTTPError` with the control API's error body
``{"error": {"type": "protocol", "message": ...}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

log = logging.getLogger("uidt.daemon.httpd")

#: Largest request head (request line and headers) accepted.
MAX_HEAD = 64 * 1024
#: A body larger than the limit is still read (up to this much) and dropped, so the client sees
#: the 413 answer instead of a broken pipe.
MAX_DISCARD = 16 * 1024 * 1024
#: Methods the server parses; any other is a 400.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    411: "Length Required",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class HTTPError(Exception):
    """A protocol-level failure, answered with ``status`` and ``message``."""

    def __init__(self, status: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close


@dataclass
class Request:
    """One request as the handlers see it.

    Attributes:
        method: upper-case method.
        path: the path, still percent-encoded (route parameters are decoded).
        query: the query string's parameters (the first value of a repeated name).
        headers: header names lower-cased.
        body: the whole body (``b""`` without one).
        match_info: the route's ``{name}`` parameters, percent-decoded.
        sock: the connection's socket (for ``SO_PEERCRED``), if any.
        context: what the server was given for its handlers (the daemon's runtime).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    sock: socket.socket | None = None
    context: Any = None
    match_info: dict[str, str] = field(default_factory=dict)


@dataclass
class Response:
    """A complete answer."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: Any, status: int = 200) -> Response:
    """``data`` as a JSON answer (non-JSON values as their ``str``)."""
    return Response(status, json.dumps(data, default=str).encode())


def protocol_error(status: int, message: str) -> Response:
    """The control API's body for a protocol-level error."""
    return json_response({"error": {"type": "protocol", "message": message}}, status)


Handler = Callable[[Request], Awaitable[Response]]
#: Wraps every routed request: ``(request, handler) -> response`` (error mapping, peer checks).
Middleware = Callable[[Request, Handler], Awaitable[Response]]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Router:
    """Routes ``METHOD /path/{param}`` to handlers; a GET route also answers HEAD."""

    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = []
        self._by_pattern: dict[str, dict[str, Handler]] = {}

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """Route ``method`` on ``pattern`` (``{name}`` matches one path segment) to ``handler``."""
        methods = self._by_pattern.get(pattern)
        if methods is None:
            regex = re.compile("^" + _PARAM.sub(r"(?P<\1>[^/]+)", pattern) + "$")
            methods = self._by_pattern[pattern] = {}
            self._routes.append((regex, methods))
        methods[method.upper()] = handler

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        """The handler and decoded parameters; :class:`HTTPError` 404 or 405 otherwise."""
        allowed: set[str] = set()
        for regex, methods in self._routes:
            found = regex.match(path)
            if found is None:
                continue
            handler = methods.get(method) or (methods.get("GET") if method == "HEAD" else None)
            if handler is not None:
                return handler, {k: unquote(v) for k, v in found.groupdict().items()}
            allowed.update(methods)
        if allowed:
            raise HTTPError(405, "Method Not Allowed")
        raise HTTPError(404, "Not Found")


class HTTPServer:
    """Serves a :class:`Router` on a listening socket until :meth:`close`.

    Args:
        router: the routes.
        middlewares: applied outermost first around every routed handler.
        context: handed to handlers as :attr:`Request.context`.
        max_body: largest accepted body (larger: 413).
    """

    def __init__(
        self,
        router: Router,
        *,
        middlewares: tuple[Middleware, ...] = (),
        context: Any = None,
        max_body: int = 1 << 20,
    ) -> None:
        self.router = router
        self.middlewares = middlewares
        self.context = context
        self.max_body = max_body
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, sock: socket.socket) -> None:
        """Serve connections arriving on ``sock`` (bound and listening, or about to be)."""
        if sock.family == socket.AF_UNIX:
            self._server = await asyncio.start_unix_server(
                self._connection, sock=sock, limit=MAX_HEAD
            )
        else:
            self._server = await asyncio.start_server(self._connection, sock=sock, limit=MAX_HEAD)

    async def close(self) -> None:
        """Stop listening and end every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(list(self._connections))
        if self._server is not None:
            await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            raw = writer.get_extra_info("socket")
            sock = raw if isinstance(raw, socket.socket) else _as_socket(raw)
            while await self._one_request(reader, writer, sock):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the peer went away, or sent a chunk-size line longer than any request head
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sock: socket.socket | None
    ) -> bool:
        """Read, answer; ``True`` if the connection stays open for another request."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                await _send(writer, protocol_error(400, "incomplete request"), keep_alive=False)
            return False
        except asyncio.LimitOverrunError:
            await _send(writer, protocol_error(400, "request head too large"), keep_alive=False)
            return False
        try:
            request, keep_alive = _parse_head(head)
            request.body = await self._read_body(reader, request.headers)
        except HTTPError as exc:
            await _send(writer, protocol_error(exc.status, exc.message), keep_alive=False)
            return False
        request.sock = sock
        request.context = self.context
        response = await self._answer(request)
        await _send(writer, response, keep_alive=keep_alive, head_only=request.method == "HEAD")
        return keep_alive

    async def _read_body(self, reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return await self._read_chunked(reader)
        raw_length = headers.get("content-length")
        if raw_length is None:
            return b""
        if not raw_length.strip().isdigit():
            raise HTTPError(400, f"bad Content-Length {raw_length!r}")
        length = int(raw_length)
        if length > self.max_body:
            if length <= MAX_DISCARD:  # read it anyway: the client then gets to read the 413
                with contextlib.suppress(asyncio.IncompleteReadError):
                    await reader.readexactly(length)
            raise HTTPError(413, f"request body too large ({length} > {self.max_body} bytes)")
        return await reader.readexactly(length)

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HTTPError(400, "bad chunk size") from None
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(chunks)
            total += size
            if total > self.max_body:
                raise HTTPError(413, f"request body too large (> {self.max_body} bytes)")
            chunks.append(await reader.readexactly(size))
            if await reader.readexactly(2) != b"\r\n":
                raise HTTPError(400, "bad chunk end")

    async def _answer(self, request: Request) -> Response:
        try:
            handler, request.match_info = self.router.resolve(request.method, request.path)
        except HTTPError as exc:
            handler = _failing(exc)
        for middleware in reversed(self.middlewares):
            handler = _wrap(middleware, handler)
        try:
            return await handler(request)
        except HTTPError as exc:
            return protocol_error(exc.status, exc.message)
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return protocol_error(500, "internal error (see the daemon log)")


def _failing(error: HTTPError) -> Handler:
    async def fail(request: Request) -> Response:
        raise error

    return fail


def _wrap(middleware: Middleware, handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        return await middleware(request, handler)

    return wrapped


def _as_socket(raw: Any) -> socket.socket | None:
    """asyncio hands out a ``TransportSocket`` wrapper; peer checks need ``getsockopt`` only."""
    return raw if raw is not None and hasattr(raw, "getsockopt") else None


def _parse_head(head: bytes) -> tuple[Request, bool]:
    """The request (without its body) and whether the connection may stay open."""
    lines = head.decode("latin-1").split("\r\n")  # latin-1 decodes any byte
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HTTPError(400, f"bad request line {lines[0][:100]!r}")
    method, target, version = parts
    if method not in METHODS:
        raise HTTPError(400, f"unsupported method {method[:20]!r}")
    if not target.startswith("/"):
        raise HTTPError(400, "the request target must be a path")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HTTPError(400, f"bad header line {line[:100]!r}")
        headers[name.lower()] = value.strip()
    path, _, query_string = target.partition("?")
    query: dict[str, str] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        query.setdefault(name, value)
    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        keep_alive = "keep-alive" in connection
    else:
        keep_alive = "close" not in connection
    return Request(method, path, query, headers, b""), keep_alive


async def _send(
    writer: asyncio.StreamWriter, response: Response, *, keep_alive: bool, head_only: bool = False
) -> None:
    reason = REASONS.get(response.status, "Unknown")
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        f"Content-Type: {response.content_type}; charset=utf-8",
        f"Content-Length: {len(response.body)}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
    ]
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    writer.write(head if head_only else head + response.body)
    await writer.drain()

"""A small HTTP/1.1 server for the control API: JSON requests and answers on the daemon's socket.

The control API needs little of HTTP: a method, a path with ``{name}`` segments, a query string,
an optional ``Content-Length`` (or chunked) body, and a JSON answer with ``Content-Length``.
Every request head passes a strict gate first (:mod:`uidt.daemon.httpwire`); h11 then reads its
body and frames the answer (:mod:`uidt.daemon.exchange`), on asyncio streams, so the daemon does
not import a web framework before it can answer (aiohttp cost it about 250 ms of every cold
start; h11 costs about 10 ms). Persistent connections (HTTP/1.1 keep-alive) are supported;
pipelined requests are answered in order; ``Expect: 100-continue`` is answered.

Errors of the protocol itself (malformed request, unknown route, wrong method, body too large)
are answered as :class:`HTTPError` with the control API's error body
``{"error": {"type": "protocol", "message": ...}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from uidt.connlimit import ConnectionSlots, Slot
from uidt.daemon.exchange import Exchange, Response, json_response, protocol_error
from uidt.daemon.httpwire import MAX_HEAD, Head, HTTPError, Inbox, read_head

log = logging.getLogger("uidt.daemon.httpd")

#: How long a new connection may take to send its first request head, and any request its body.
HEADER_TIMEOUT_S = 10.0
#: How long a keep-alive connection may idle between requests.
IDLE_TIMEOUT_S = 5.0
#: How long a refused connection may take to send the request it is refused (see ``_refuse``).
REFUSAL_GRACE_S = 1.0
#: The most connections asyncio accepts in one pass of its loop (its ``backlog``).
ACCEPT_BACKLOG = 64
#: Connections the kernel queues until they are accepted.
LISTEN_QUEUE = 1024
#: Most connections held at once (further lowered to fit the open-file limit).
MAX_CONNECTIONS = 256


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
        durable: set by a handler that made its own writes durable (``schedule``), so the
            control API's store barrier does not wait for other writes.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    sock: socket.socket | None = None
    context: Any = None
    match_info: dict[str, str] = field(default_factory=dict)
    durable: bool = False


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

    A connection has ``header_timeout`` seconds from its arrival (or from the first byte of a
    later request) to send the whole request, head and body, and as long again to read each
    answer; between keep-alive requests it may idle ``idle_timeout`` seconds. At most
    ``max_connections`` are held (see :mod:`uidt.connlimit` for who gives way). A late
    request is answered 408, a malformed one 4xx, and either connection closed; a client that
    does not read its answer in time has its connection closed.

    Args:
        router: the routes.
        middlewares: applied outermost first around every routed handler.
        context: handed to handlers as :attr:`Request.context`.
        max_body: largest accepted body (larger: 413).
        header_timeout: seconds for a whole request (head and body), and to read an answer.
        idle_timeout: seconds a keep-alive connection may wait for its next request.
        max_connections: most connections held at once.
    """

    def __init__(
        self,
        router: Router,
        *,
        middlewares: tuple[Middleware, ...] = (),
        context: Any = None,
        max_body: int = 1 << 20,
        header_timeout: float = HEADER_TIMEOUT_S,
        idle_timeout: float = IDLE_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.router = router
        self.middlewares = middlewares
        self.context = context
        self.max_body = max_body
        self.header_timeout = header_timeout
        self.idle_timeout = idle_timeout
        self.slots = ConnectionSlots(max_connections)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, sock: socket.socket) -> None:
        """Serve connections arriving on ``sock`` (bound and listening, or about to be)."""
        # `backlog` also bounds how many connections asyncio accepts in one pass of the loop,
        # before any of them is admitted (or evicts another): a burst stays near the cap.
        if sock.family == socket.AF_UNIX:
            self._server = await asyncio.start_unix_server(
                self._connection, sock=sock, limit=MAX_HEAD, backlog=ACCEPT_BACKLOG
            )
        else:
            self._server = await asyncio.start_server(
                self._connection, sock=sock, limit=MAX_HEAD, backlog=ACCEPT_BACKLOG
            )
        sock.listen(LISTEN_QUEUE)  # after asyncio's listen(backlog): the kernel's queue

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
        """One connection, start to end; nothing it raises reaches the event loop."""
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        slot = self.slots.admit(loop.time(), task.cancel)
        self._connections.add(task)
        try:
            if slot is None:
                await self._refuse(reader, writer)
                return
            raw = writer.get_extra_info("socket")
            sock = raw if isinstance(raw, socket.socket) else _as_socket(raw)
            inbox = Inbox(reader)
            first = True
            while await self._one_request(inbox, writer, sock, slot, first=first):
                first = False
        except (ConnectionError, asyncio.CancelledError):
            pass  # the peer went away, or the server closed (or evicted) the connection
        except Exception:  # a bug here must not become the loop's "unhandled exception"
            log.exception("a control-socket connection failed")
        finally:
            if slot is not None:
                self.slots.release(slot)
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """503 for a newcomer to a server whose connections are all busy.

        The answer is sent at once; the request is then read (briefly) and dropped, since
        closing a socket with unread data resets it and the client would lose the 503. While
        as many refusals are pending as connections are allowed, a newcomer is closed at once.
        """
        if self.slots.refusing >= self.slots.limit:
            return
        self.slots.refusing += 1
        try:
            await Exchange(writer, 0, REFUSAL_GRACE_S).fail(HTTPError(503, "too many connections"))
            with contextlib.suppress(TimeoutError, ValueError, asyncio.LimitOverrunError):
                async with asyncio.timeout(min(self.header_timeout, REFUSAL_GRACE_S)):
                    await reader.readuntil(b"\r\n\r\n")
        finally:
            self.slots.refusing -= 1

    async def _one_request(
        self,
        inbox: Inbox,
        writer: asyncio.StreamWriter,
        sock: socket.socket | None,
        slot: Slot,
        *,
        first: bool,
    ) -> bool:
        """Read, answer; ``True`` if the connection stays open for another request."""
        slot.busy = False
        if not first and not await self._next_request_begins(inbox):
            return False  # idle keep-alive connection timed out, or closed between requests
        exchange = Exchange(writer, self.max_body, self.header_timeout)
        try:
            async with asyncio.timeout(self.header_timeout):
                head = await read_head(inbox)
                body = await exchange.read_body(inbox, head)
        except HTTPError as exc:
            await exchange.fail(exc)
            return False
        except TimeoutError:
            await exchange.fail(HTTPError(408, "request not received in time"))
            return False
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                await exchange.fail(HTTPError(400, "incomplete request"))
            return False
        slot.busy = True
        request = _request(head, body)
        request.sock = sock
        request.context = self.context
        return await exchange.answer(await self._answer(request))

    async def _next_request_begins(self, inbox: Inbox) -> bool:
        """Whether a keep-alive connection sends another byte within the idle timeout."""
        try:
            async with asyncio.timeout(self.idle_timeout):
                return await inbox.wait()
        except TimeoutError:
            return False

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


def _request(head: Head, body: bytes) -> Request:
    """The handlers' view of a parsed head and its body."""
    path, _, query_string = head.target.partition("?")
    query: dict[str, str] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        query.setdefault(name, value)
    return Request(head.method, path, query, head.headers, body)


__all__ = [
    "HTTPError",
    "HTTPServer",
    "Handler",
    "Middleware",
    "Request",
    "Response",
    "Router",
    "json_response",
    "protocol_error",
]

"""A loopback HTTP server with fault injection, for transfer tests and demos.

:class:`TransferTestServer` serves in-memory files with ``Range``/``If-Range``/``ETag``/
``Last-Modified``, offers a tus 1.0 endpoint (``core`` + ``creation``) under ``/files/`` and a
plain ``PUT``/``POST`` sink under ``/put/``, and misbehaves on request::

    async with TransferTestServer() as server:
        server.add_file("/big.bin", data)
        server.set_faults("/big.bin", Faults(reset_after=100_000, times=2))
        await download(server.url("/big.bin"), dest)

Faults are per path and can change while the server runs. :class:`ThreadedTransferTestServer`
runs the same server on a background thread for code that is not async (``with`` block).
It listens on 127.0.0.1 only, port 0 (the real port is in :attr:`port`); given an
``ssl.SSLContext`` it speaks HTTPS instead (:meth:`~TransferTestServer.url` then says
``https://``), for tests of certificate checks.
"""

from __future__ import annotations

import asyncio
import itertools
import mmap
import os
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from types import TracebackType

from aiohttp import web

from uidt.testing.httpfaults import SIGNED_PUT_FIELDS, Faults, PathState, RequestRecord
from uidt.testing.servedfile import ServedFile, etag_of, requested_range
from uidt.testing.threadedserver import ThreadedTransferTestServer
from uidt.testing.tusendpoint import TusEndpoint

__all__ = [
    "Faults",
    "RecordingSleep",
    "RequestRecord",
    "ThreadedTransferTestServer",
    "TransferTestServer",
]

_DRIP_CHUNK = 64 * 1024


class RecordingSleep:
    """An injectable ``sleep`` for transfer backoff: records the delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


#: Loop turns :meth:`TransferTestServer.stop` waits for connections accepted during its cleanup.
_SETTLE_TURNS = 5


class TransferTestServer(TusEndpoint):
    """The async server. Use as ``async with`` or call :meth:`start`/:meth:`stop`."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context
        self._files: dict[str, ServedFile] = {}
        self._paths: dict[str, PathState] = {}
        self._generation = itertools.count(1)
        self._upload_ids = itertools.count(1)
        self.uploads: dict[str, bytearray] = {}
        self.upload_lengths: dict[str, int] = {}
        self.upload_metadata: dict[str, str] = {}
        self.put_bodies: dict[str, bytes] = {}
        self.tus_enabled = True
        self.termination_enabled = True
        self.chunk_size = 256 * 1024
        """Bytes per write when not dripping (larger is faster, smaller pauses sooner)."""
        self.requests: list[RequestRecord] = []
        self.on_request: Callable[[RequestRecord], None] | None = None
        self._sent_waiters: list[tuple[str, int, asyncio.Future[None]]] = []
        self._sent: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0

    # -- configuration -------------------------------------------------------------------
    def add_file(
        self,
        path: str,
        data: bytes,
        *,
        last_modified: datetime | None = None,
        etag: str | None = None,
    ) -> str:
        """Serve ``data`` at ``path`` (replacing what was there); return its new ETag (``etag``
        if given: another server's, say, as mirrors of one file may share)."""
        etag = etag or etag_of(data, next(self._generation))
        when = last_modified or datetime.now(UTC).replace(microsecond=0)
        self._files[path] = ServedFile(data, etag, when)
        return etag

    def add_path(self, path: str, source: str | os.PathLike[str]) -> str:
        """Serve the local file ``source`` at ``path`` (memory-mapped, for large benchmarks)."""
        with open(source, "rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        stat = os.stat(source)
        etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
        when = datetime.fromtimestamp(int(stat.st_mtime), UTC)
        self._files[path] = ServedFile(mapped, etag, when)
        return etag

    def change_file(self, path: str, data: bytes | None = None, *, keep_etag: bool = False) -> str:
        """Give ``path`` new content (or the same content under a new ETag and date).

        With ``keep_etag`` the new content keeps the old ETag: a broken server.
        """
        old = self._files[path]
        new_data = bytes(old.data) if data is None else data
        when = datetime.fromtimestamp(old.last_modified.timestamp() + 1, UTC)
        etag = self.add_file(path, new_data, last_modified=when)
        if keep_etag:
            self._files[path].etag = etag = old.etag
        return etag

    def etag(self, path: str) -> str:
        """The current ETag of ``path``."""
        return self._files[path].etag

    def set_faults(self, path: str, faults: Faults | None = None) -> None:
        """Replace the faults of ``path`` (``None`` clears them) and reset its hit counter."""
        state = self._path(path)
        state.faults = faults or Faults()
        state.hits = 0

    def throttle(self, path: str, bytes_per_second: int | None) -> None:
        """Drip bodies of ``path`` at ``bytes_per_second`` (``None``: full speed), keeping other faults."""
        self._path(path).faults.drip_bps = bytes_per_second

    def pause(self, path: str) -> None:
        """Hold every body of ``path`` (new and in flight) until :meth:`unpause` (an upload's
        body too: the chunk that arrived is neither kept nor counted before then)."""
        state = self._path(path)
        if state.gate is None:
            state.gate = asyncio.Event()
        state.gate.clear()

    def unpause(self, path: str) -> None:
        """Let bodies of ``path`` flow again."""
        gate = self._path(path).gate
        if gate is not None:
            gate.set()

    def reset_body(self, record: RequestRecord) -> None:
        """Reset (RST) ``record``'s connection before the next piece of its answer's body."""
        record.reset_asked = True

    def gets(self, path: str | None = None) -> list[RequestRecord]:
        """The ``GET`` requests seen so far (of ``path`` only, when given)."""
        return [r for r in self.requests if r.method == "GET" and (path is None or r.path == path)]

    def range_starts(self) -> list[int]:
        """Where each ``GET`` asked to start (0 without a ``Range``), in order of offset."""
        return sorted(r.asked_start for r in self.gets())

    def bytes_sent(self, path: str) -> int:
        """Body bytes sent (or received, for uploads) for ``path`` so far, over all requests."""
        return self._sent.get(path, 0)

    async def wait_bytes_sent(self, path: str, count: int) -> None:
        """Wait until :meth:`bytes_sent` of ``path`` reaches ``count`` (wrap it in a timeout)."""
        if self.bytes_sent(path) >= count:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sent_waiters.append((path, count, future))
        await future

    def open_connections(self) -> int:
        """Client connections the server holds open right now."""
        if self._runner is None or self._runner.server is None:
            return 0
        return len(self._runner.server.connections)

    def url(self, path: str) -> str:
        """The full URL of ``path`` on this server."""
        scheme = "http" if self._ssl_context is None else "https"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _path(self, path: str) -> PathState:
        return self._paths.setdefault(path, PathState())

    def _count_sent(self, path: str, count: int) -> None:
        total = self._sent[path] = self._sent.get(path, 0) + count
        for waiter in list(self._sent_waiters):
            if waiter[0] == path and total >= waiter[1]:
                self._sent_waiters.remove(waiter)
                if not waiter[2].done():
                    waiter[2].set_result(None)

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application(client_max_size=1 << 40)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # open bodies (a throttled one may take minutes) are dropped at stop, not waited for
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._ssl_context)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        """Stop listening and drop open connections."""
        for state in self._paths.values():
            if state.gate is not None:
                state.gate.set()
        if self._runner is not None:
            server = self._runner.server
            handlers = list(server.connections) if server else []
            await self._runner.cleanup()
            self._runner = None
            # A connection whose peer stopped reading (a proxy, a TLS shutdown waiting for a
            # close_notify) is still "closing" after the cleanup, its socket open: reset it,
            # and let its connection_lost run before the test's loop is closed. So is one
            # accepted while the cleanup ran (a client retrying as fast as it can): its
            # transport reaches ``connections`` a few loop turns after the accept.
            aborted: set[int] = set()
            for _ in range(_SETTLE_TURNS):
                for handler in [*handlers, *(server.connections if server else ())]:
                    if id(handler) not in aborted and handler.transport is not None:
                        aborted.add(id(handler))
                        handler.transport.abort()
                await asyncio.sleep(0)

    async def __aenter__(self) -> TransferTestServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- request handling ----------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        record = RequestRecord(
            request.method,
            request.path,
            request.headers.get("Range"),
            request.headers.get("If-Range"),
            headers={name.lower(): value for name, value in request.headers.items()},
        )
        peer = request.transport.get_extra_info("peername") if request.transport else None
        record.peer_port = peer[1] if peer else 0
        self.requests.append(record)
        try:
            return await self._handle(request, record)
        finally:
            record.finished.set()

    async def _handle(self, request: web.Request, record: RequestRecord) -> web.StreamResponse:
        path = request.path
        if self.on_request is not None:
            self.on_request(record)
        state = self._path(path)
        state.hits += 1
        faults = state.faults
        active = faults.times is None or state.hits <= faults.times
        active = active and (faults.methods is None or request.method in faults.methods)
        if active and faults.drop:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never reaches the client: the link is "down"
        wanted = faults.require_authorization
        if wanted is not None and request.headers.get("Authorization") != wanted:
            record.status = 401
            return web.Response(status=401, text="authorization required\n")
        if faults.redirect_to is not None:
            record.status = faults.redirect_status
            return web.Response(
                status=faults.redirect_status,
                headers={"Location": faults.redirect_to},
                text="moved\n",
            )
        if active and faults.status is not None:
            record.status = faults.status
            headers = {"Retry-After": faults.retry_after} if faults.retry_after else {}
            return web.Response(status=faults.status, headers=headers, text="injected fault\n")
        if path.startswith("/files/"):
            return await self._tus(request, record, state, active)
        if path.startswith("/signed/") and request.method == "PUT":
            extra = sorted({n.lower() for n in request.headers} - SIGNED_PUT_FIELDS)
            if extra or "Content-Length" not in request.headers:
                record.status = 403
                why = f"SignatureDoesNotMatch: unsigned fields {extra}\n"
                return web.Response(status=403, text=why)
        if path.startswith(("/put/", "/signed/")) and request.method in ("PUT", "POST"):
            return await self.put_sink(request, record, state, active)
        if request.method not in ("GET", "HEAD"):
            record.status = 405
            return web.Response(status=405)
        if active and faults.change_etag and path in self._files:
            self.change_file(path)
        file = self._files.get(path)
        if file is None:
            record.status = 404
            return web.Response(status=404, text="not found\n")
        return await self._serve_file(request, record, state, file, active)

    async def _serve_file(
        self,
        request: web.Request,
        record: RequestRecord,
        state: PathState,
        file: ServedFile,
        active: bool,
    ) -> web.StreamResponse:
        faults = state.faults
        size = len(file.data)
        wanted = requested_range(request, file, faults)
        start, end = wanted if wanted is not None else (None, size)
        headers: dict[str, str] = {}
        if not faults.no_etag:
            headers["ETag"] = file.etag
        if not faults.no_last_modified:
            headers["Last-Modified"] = format_datetime(file.last_modified, True)
        if not faults.no_ranges:
            headers["Accept-Ranges"] = "bytes"
        if start is not None and (start >= size or start >= end):
            record.status = 416
            headers["Content-Range"] = f"bytes */{size}"
            return web.Response(status=416, headers=headers)
        status = 200 if start is None else 206
        start = start or 0
        if active and faults.range_from_zero:
            start, end = 0, end - start
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        response = web.StreamResponse(status=status, headers=headers)
        if faults.no_length:
            response.enable_chunked_encoding()
        else:
            response.content_length = end - start + (faults.overstate_length if active else 0)
        record.status, record.start = status, start
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        limit = end
        if active and faults.reset_after is not None:
            limit = min(limit, start + faults.reset_after)
        if active and faults.truncate_after is not None:
            limit = min(limit, start + faults.truncate_after)
        await self._send_body(request, response, record, state, file.data, start, limit)
        if record.reset_asked and request.transport is not None:
            request.transport.abort()
            return response
        if limit < end or (active and faults.overstate_length and not faults.no_length):
            transport = request.transport
            if active and faults.reset_after is not None and transport is not None:
                if faults.hold_reset is not None:
                    await faults.hold_reset(record)
                transport.abort()
            elif transport is not None:
                transport.close()
            return response
        await response.write_eof()
        return response

    async def _send_body(
        self,
        request: web.Request,
        response: web.StreamResponse,
        record: RequestRecord,
        state: PathState,
        data: bytes | mmap.mmap,
        start: int,
        limit: int,
    ) -> None:
        view = memoryview(data)
        dripped = start >= state.faults.drip_from
        drip = state.faults.drip_bps if dripped else None
        chunk = self.chunk_size if drip is None else max(1024, min(_DRIP_CHUNK, drip // 20))
        if drip is not None and state.faults.drip_chunk is not None:
            chunk = state.faults.drip_chunk
        loop = asyncio.get_running_loop()
        began = loop.time()
        sent = 0
        offset = start
        while offset < limit and not record.reset_asked:
            if state.gate is not None:
                await state.gate.wait()
            end = min(limit, offset + chunk)
            await response.write(view[offset:end])
            sent += end - offset
            record.body_bytes += end - offset
            self._count_sent(request.path, end - offset)
            offset = end
            drip = state.faults.drip_bps if dripped else None
            if drip:
                ahead = sent / drip - (loop.time() - began)
                if ahead > 0:
                    await asyncio.sleep(ahead)  # pacing the stream, not waiting for an event

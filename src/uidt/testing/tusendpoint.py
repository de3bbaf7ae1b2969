"""The tus 1.0 endpoint (``core`` + ``creation`` + ``termination``) of the loopback test server,
under ``/files/``.

``POST /files/`` creates an upload (``Location: /files/N``), ``HEAD`` reports its
``Upload-Offset``, ``PATCH`` appends at that offset (409 when the client's offset differs),
``DELETE`` forgets it (204; 405 with :attr:`TusEndpoint.termination_enabled` off, and then
``OPTIONS`` does not offer ``termination``).
With :attr:`TusEndpoint.tus_enabled` off, ``/files/`` is a plain ``PUT``/``POST`` sink
(:meth:`TusEndpoint.put_sink`, also the server's ``/put/`` and ``/signed/`` sink). Faults of the path apply: ``reset_after`` cuts a ``PATCH`` body (the bytes before the cut are
kept, as tus servers keep them; a plain body cut short keeps nothing), ``offset_delta`` makes every reported offset lie.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from uidt.testing.httpfaults import PathState, RequestRecord

TUS_VERSION = "1.0.0"


class TusEndpoint:
    """The tus part of :class:`~uidt.testing.httpserver.TransferTestServer` (a mixin).

    Attributes:
        uploads: The bytes each upload holds, by id.
        upload_lengths: Each upload's ``Upload-Length``.
        upload_metadata: Each upload's ``Upload-Metadata`` as sent.
        put_bodies: The bodies of plain ``PUT``/``POST`` requests, by path.
        tus_enabled: Speak tus under ``/files/`` (else be a plain sink there).
        termination_enabled: Offer the ``termination`` extension (``DELETE`` of an upload).
        requests: What the server saw (:attr:`terminated` reads the ``DELETE`` answers off it).
    """

    uploads: dict[str, bytearray]
    upload_lengths: dict[str, int]
    upload_metadata: dict[str, str]
    put_bodies: dict[str, bytes]
    tus_enabled: bool
    termination_enabled: bool
    requests: list[RequestRecord]
    _upload_ids: Iterator[int]

    @property
    def terminated(self) -> list[str]:
        """The ids of the uploads a ``DELETE`` removed, in order (from the request log)."""
        return [
            r.path.rsplit("/", 1)[-1]
            for r in self.requests
            if r.method == "DELETE" and r.status == 204 and r.path.startswith("/files/")
        ]

    def _count_sent(self, path: str, count: int) -> None:
        """Count body bytes of ``path`` (the server counts and wakes its waiters)."""
        raise NotImplementedError

    async def put_sink(
        self, request: web.Request, record: RequestRecord, state: PathState, active: bool
    ) -> web.StreamResponse:
        """A plain ``PUT``/``POST``: the body is read as it arrives (counted, held while the
        path is paused, cut by ``reset_after``) and kept in :attr:`put_bodies` only when the
        whole of it came; a body that ended short keeps nothing, as a real server would."""
        reset_after = state.faults.reset_after if active else None
        body = bytearray()
        async for chunk in request.content.iter_any():
            if state.gate is not None:
                await state.gate.wait()
            if reset_after is not None and len(body) + len(chunk) >= reset_after:
                self._count_sent(request.path, reset_after - len(body))
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)  # never reaches the client
            body += chunk
            record.body_bytes += len(chunk)
            self._count_sent(request.path, len(chunk))
        if request.content_length is not None and len(body) != request.content_length:
            record.status = 400
            return web.Response(status=400, text="the body ended short\n")
        self.put_bodies[request.path] = bytes(body)
        record.status = 201
        return web.Response(status=201)

    async def _tus(
        self, request: web.Request, record: RequestRecord, state: PathState, active: bool
    ) -> web.StreamResponse:
        if not self.tus_enabled:
            if request.method in ("PUT", "POST"):
                return await self.put_sink(request, record, state, active)
            record.status = 405
            return web.Response(status=405)
        base = {"Tus-Resumable": TUS_VERSION}
        if request.method == "OPTIONS":
            extensions = "creation,termination" if self.termination_enabled else "creation"
            record.status = 204
            return web.Response(
                status=204,
                headers={**base, "Tus-Version": TUS_VERSION, "Tus-Extension": extensions},
            )
        if request.headers.get("Tus-Resumable") != TUS_VERSION:
            record.status = 412
            return web.Response(status=412, headers={"Tus-Version": TUS_VERSION})
        if request.method == "POST" and request.path.rstrip("/") == "/files":
            length = request.headers.get("Upload-Length", "")
            if not length.isdigit():
                record.status = 400
                return web.Response(status=400, headers=base)
            upload_id = str(next(self._upload_ids))
            self.uploads[upload_id] = bytearray()
            self.upload_lengths[upload_id] = int(length)
            self.upload_metadata[upload_id] = request.headers.get("Upload-Metadata", "")
            record.status = 201
            return web.Response(status=201, headers={**base, "Location": f"/files/{upload_id}"})
        upload_id = request.path.rsplit("/", 1)[-1]
        if upload_id not in self.uploads:
            record.status = 404
            return web.Response(status=404, headers=base)
        data = self.uploads[upload_id]
        delta = state.faults.offset_delta if active else 0
        offset_headers = {
            **base,
            "Upload-Offset": str(len(data) + delta),
            "Upload-Length": str(self.upload_lengths[upload_id]),
            "Cache-Control": "no-store",
        }
        if request.method == "HEAD":
            record.status = 200
            return web.Response(status=200, headers=offset_headers)
        if request.method == "DELETE" and self.termination_enabled:
            del self.uploads[upload_id]
            record.status = 204
            return web.Response(status=204, headers=base)
        if request.method != "PATCH":
            record.status = 405
            return web.Response(status=405, headers=base)
        if request.headers.get("Content-Type") != "application/offset+octet-stream":
            record.status = 415
            return web.Response(status=415, headers=base)
        if request.headers.get("Upload-Offset") != str(len(data)):
            record.status = 409
            return web.Response(status=409, headers=offset_headers)
        record.start = len(data)
        return await self._tus_patch(request, record, state, active, upload_id, base, delta)

    async def _tus_patch(
        self,
        request: web.Request,
        record: RequestRecord,
        state: PathState,
        active: bool,
        upload_id: str,
        base: dict[str, str],
        delta: int,
    ) -> web.StreamResponse:
        data = self.uploads[upload_id]
        length = self.upload_lengths[upload_id]
        reset_after = state.faults.reset_after if active else None
        received = 0
        async for chunk in request.content.iter_any():
            if state.gate is not None:
                await state.gate.wait()
            if reset_after is not None and received + len(chunk) >= reset_after:
                keep = reset_after - received
                data += chunk[:keep]
                self._count_sent(request.path, keep)
                record.body_bytes += keep
                if request.transport is not None:
                    request.transport.abort()
                record.status = 0
                return web.Response(status=500)
            if len(data) + len(chunk) > length:
                record.status = 400
                return web.Response(status=400, headers=base)
            data += chunk
            received += len(chunk)
            record.body_bytes += len(chunk)
            self._count_sent(request.path, len(chunk))
        record.status = 204
        return web.Response(status=204, headers={**base, "Upload-Offset": str(len(data) + delta)})

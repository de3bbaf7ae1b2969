"""The services' channel to the daemon inside an app worker (:class:`WorkerConnection`).

It frames the app's calls (``job_finished``, byte updates, notifications) for the daemon and
matches the daemon's ``reply`` messages to the requests waiting for them. ``call``, ``request``
and ``send`` are safe from any thread: a plain callback runs on the worker's executor.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import threading
from collections.abc import Callable
from typing import Any

from uidt.errors import InvalidJobError, ProtocolError
from uidt.host import messages as msg
from uidt.host import protocol
from uidt.job.params import JobParameters
from uidt.timing import mark


class WorkerConnection:
    """The services' channel to the daemon; ``call`` and ``request`` are safe from any thread."""

    def __init__(
        self,
        writer: asyncio.StreamWriter,
        loop: asyncio.AbstractEventLoop,
        channels: frozenset[str],
    ) -> None:
        self.writer = writer
        self.loop = loop
        self.channels = channels
        self.on_finished: Callable[[int], None] | None = None
        self._request_ids = itertools.count(1)
        self._pending: dict[int, concurrent.futures.Future[None]] = {}
        self._lock = threading.Lock()

    def on_own_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def send(self, message: msg.Message) -> None:
        """Queue a frame for the daemon (from the loop or from any thread)."""
        frame = protocol.encode(message)
        if self.on_own_loop():
            self._write(frame)
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the worker is ending
                self.loop.call_soon_threadsafe(self._write, frame)

    def _write(self, frame: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(frame)

    def call(self, method: str, params: JobParameters, args: dict[str, Any]) -> None:
        """A fire-and-forget call (``job_finished``, byte updates).

        Raises:
            ProtocolError: ``method`` is not a call the daemon knows.
        """
        self.send(_call_message(method, params.run_id, args))
        if method == "job_finished":
            mark("worker.job_finished")
        if method == "job_finished" and self.on_finished is not None:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.on_finished, params.run_id)

    def request(
        self, method: str, params: JobParameters, args: dict[str, Any]
    ) -> concurrent.futures.Future[None]:
        """A call the daemon answers with ``reply``; the future fails with its refusal."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        with self._lock:
            request_id = next(self._request_ids)
            self._pending[request_id] = future
        try:
            self.send(_call_message(method, params.run_id, {**args, "request_id": request_id}))
        except BaseException:
            with self._lock:
                self._pending.pop(request_id, None)
            raise
        return future

    def resolve(self, request_id: int, error: str | None) -> None:
        """The daemon answered request ``request_id`` (``error`` is its refusal, if any)."""
        with self._lock:
            future = self._pending.pop(request_id, None)
        if future is None or future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(InvalidJobError(error))

    def abandon(self) -> None:
        """The daemon is gone: release every thread waiting for an answer."""
        with self._lock:
            pending, self._pending = list(self._pending.values()), {}
        for future in pending:
            if not future.done():
                future.set_result(None)


def _call_message(method: str, run_id: int, args: dict[str, Any]) -> msg.Message:
    """The message of an app call (``JobService._call``'s method name and keyword arguments)."""
    kind = msg.CALLS.get(method)
    if kind is None:
        raise ProtocolError(f"unknown call {method!r}")
    try:
        return kind(run_id=run_id, **args)
    except TypeError as exc:
        raise ProtocolError(f"call {method!r} with bad arguments: {exc}") from exc

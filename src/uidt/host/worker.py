"""The app worker process: ``python -m uidt.host.worker --fd N --app PKG``.

One worker hosts every running ``JobService`` of one app, on one asyncio loop. It imports services
lazily on their first start (an unimportable one fails that start only: it is reported as
``crashed`` for that run and the worker carries on), runs plain callbacks in threads so they cannot
block its message loop, reports an exception escaping a callback as ``crashed`` with the traceback
(the daemon treats it as Android treats a crashing app process: the run ends and is rescheduled),
answers heartbeats, and exits when the daemon's end of the socket closes or when it has had no
job for ``--idle-timeout`` seconds. Right after its hello it imports the app's service modules
(``--preload``) on a background thread, so that the first start does not wait for them; a module
that fails to import there is simply imported again (and its failure reported) at its first start.

Keep this module's imports light: it is on the cold-start path of every job.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import logging
import os
import socket
import sys
import threading
import traceback
from typing import Any, assert_never

from uidt.app.invoke import invoke_callback, load_service
from uidt.app.service import JobService
from uidt.errors import ProtocolError
from uidt.host import messages as msg
from uidt.host import protocol
from uidt.host.receivers import Receivers
from uidt.host.workerargs import parse_args
from uidt.host.workerconnection import WorkerConnection
from uidt.job.params import JobParameters
from uidt.job.reasons import StopReason
from uidt.timing import mark

#: Threads that run plain (sync) callbacks; they never keep a worker process alive.
_EXECUTOR_THREADS = 32
#: A crash report keeps the last this-many characters of the traceback (frames stay small).
MAX_TRACEBACK_CHARS = 64_000
#: ... and the first this-many characters of the exception's message.
MAX_MESSAGE_CHARS = 2_000


#: How long a first start waits for the background import of the service modules.
PRELOAD_WAIT_S = 60.0

#: How long cancelled callbacks get to clean up when the worker ends.
CLEANUP_TIMEOUT_S = 5.0


def exception_type_name(exc: BaseException | None) -> str:
    """The exception's type as a traceback prints it: ``ValueError``, ``pkg.mod.Error``."""
    if exc is None:
        return "Exception"
    kind = type(exc)
    module = kind.__module__
    if module in ("builtins", "__main__"):
        return kind.__qualname__
    return f"{module}.{kind.__qualname__}"


def _safe_str(exc: BaseException | None) -> str:
    """``str(exc)``; an exception whose ``__str__`` itself raises gets a placeholder."""
    if exc is None:
        return ""
    try:
        return str(exc)
    except Exception:
        return "<exception str() failed>"


class Worker:
    """Serves one connection from the daemon, for one app."""

    def __init__(
        self,
        app: str,
        channels: frozenset[str],
        idle_timeout: float,
        preload: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.channels = channels
        self.idle_timeout = idle_timeout
        self.preload = preload
        self._preloaded = threading.Event()
        self.services: dict[str, JobService] = {}
        self.running: dict[int, tuple[JobService, JobParameters]] = {}
        #: The daemon's last ``bandwidth_limit`` per run (it may come before the run starts).
        self.bandwidth_limits: dict[int, int | None] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.conn: WorkerConnection | None = None
        self.executor = concurrent.futures.ThreadPoolExecutor(
            _EXECUTOR_THREADS, thread_name_prefix=f"uidt-{app}"
        )
        self._activity = asyncio.Event()
        #: The app's notification receivers (``notification_action`` messages).
        self.receivers = Receivers(self.executor)

    async def serve(self, sock: socket.socket) -> str:
        """Serve until the daemon closes the socket, a bad frame, or idleness.

        Returns:
            Why it ended: ``"closed"``, ``"protocol"`` or ``"idle"``.
        """
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        loop = asyncio.get_running_loop()
        self.conn = WorkerConnection(writer, loop, self.channels)
        self.conn.on_finished = self._finished
        self.conn.send(msg.Hello(protocol.VERSION, self.app, os.getpid()))
        mark("worker.hello")
        self._start_preload()
        receive = loop.create_task(self._receive(reader))
        idle = loop.create_task(self._idle_watch())
        try:
            done, _ = await asyncio.wait({receive, idle}, return_when=asyncio.FIRST_COMPLETED)
            return str(next(iter(done)).result())
        finally:
            receive.cancel()
            idle.cancel()
            self.conn.abandon()
            pending = list(self.tasks)
            for task in pending:
                task.cancel()
            if pending:
                # Let cancelled work clean up (a transfer commits its checkpoint), but briefly:
                # a blocked callback must not keep the worker alive.
                await asyncio.wait(pending, timeout=CLEANUP_TIMEOUT_S)
            writer.close()
            self.executor.shutdown(wait=False, cancel_futures=True)

    def _start_preload(self) -> None:
        """Import the service modules on a background thread while the worker waits for work."""
        modules = [name.partition(":")[0] for name in self.preload]
        if not modules:
            self._preloaded.set()
            return

        def preload() -> None:
            try:
                for module in modules:
                    with contextlib.suppress(Exception):  # reported by the first start instead
                        importlib.import_module(module)
            finally:
                mark("worker.preloaded")
                self._preloaded.set()

        threading.Thread(target=preload, name=f"uidt-{self.app}-preload", daemon=True).start()

    async def _receive(self, reader: asyncio.StreamReader) -> str:
        try:
            while True:
                message = await protocol.read_frame(reader, protocol.TO_WORKER)
                if message is None:
                    return "closed"
                self._dispatch(message)
        except (ProtocolError, ConnectionError) as exc:
            print(f"uidt worker {self.app}: bad message from the daemon: {exc}", file=sys.stderr)
            return "protocol"

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _dispatch(self, message: msg.ToWorker) -> None:
        assert self.conn is not None
        match message:
            case msg.Ping(seq=seq):
                self.conn.send(msg.Pong(seq))
            case msg.Reply(request_id=request_id, error=error):
                self.conn.resolve(request_id, error)
            case msg.Start(run_id=run_id, service=service, params=params):
                self._spawn(self._start(run_id, service, params))
            case msg.Stop(run_id=run_id, stop_reason=reason):
                self._spawn(self._stop(run_id, reason))
            case msg.NetworkChanged(run_id=run_id, network=network):
                self._spawn(self._network_changed(run_id, network))
            case msg.BandwidthLimit(run_id=run_id, bytes_per_second=rate):
                self._bandwidth_limit(run_id, rate)
            case msg.NotificationAction():
                self._spawn(self._notification_action(message))
            case _:
                assert_never(message)

    def _finished(self, run_id: int) -> None:
        self.running.pop(run_id, None)
        self.bandwidth_limits.pop(run_id, None)
        self._activity.set()

    def _bandwidth_limit(self, run_id: int, rate: int | None) -> None:
        """Keep the run's share; tell its service at once if it runs (else at its start)."""
        self.bandwidth_limits[run_id] = rate
        entry = self.running.get(run_id)
        if entry is None:
            return
        service, params = entry
        params.bandwidth_limit = rate
        try:
            service.on_bandwidth_limit_changed(params)
        except Exception:
            self._crashed(run_id, "on_bandwidth_limit_changed")

    def _crashed(self, run_id: int, phase: str) -> None:
        """Report the exception being handled (call from an ``except`` block)."""
        assert self.conn is not None
        exc = sys.exc_info()[1]
        self.conn.send(
            msg.Crashed(
                run_id=run_id,
                phase=phase,
                traceback=traceback.format_exc()[-MAX_TRACEBACK_CHARS:],
                exception_type=exception_type_name(exc),
                message=_safe_str(exc)[:MAX_MESSAGE_CHARS],
            )
        )

    def _service(self, name: str) -> JobService:
        service = self.services.get(name)
        if service is None:
            assert self.conn is not None
            # Never import a module on two threads at once: finish (or give up on) the preload.
            self._preloaded.wait(PRELOAD_WAIT_S)
            service = load_service(name)()
            service.attach(self.conn)
            self.services[name] = service
        return service

    async def _start(self, run_id: int, service_name: str, raw_params: dict[str, Any]) -> None:
        assert self.conn is not None
        mark("worker.start_job")
        self._activity.set()
        try:
            params = JobParameters.from_dict(raw_params)
            params.run_id = run_id
            service = self._service(service_name)
        except Exception:
            self._crashed(run_id, "import")
            return
        mark("worker.service_ready")
        params.bandwidth_limit = self.bandwidth_limits.get(run_id)
        self.running[run_id] = (service, params)
        try:
            wants = bool(await invoke_callback(service.on_start_job, params, self.executor))
        except Exception:
            self.running.pop(run_id, None)
            self._activity.set()
            self._crashed(run_id, "on_start_job")
            return
        mark("worker.on_start_job_returned")
        if not wants:
            self.running.pop(run_id, None)
            self.bandwidth_limits.pop(run_id, None)
            self._activity.set()
        self.conn.send(msg.StartResult(run_id, wants))

    async def _stop(self, run_id: int, stop_reason: int) -> None:
        assert self.conn is not None
        entry = self.running.pop(run_id, None)
        self.bandwidth_limits.pop(run_id, None)
        self._activity.set()
        if entry is None:  # already finished here; the daemon's core sorts out the race
            self.conn.send(msg.StopResult(run_id, False))
            return
        service, params = entry
        params.stop_reason = StopReason(stop_reason)
        service.mark_stopped(params)
        try:
            wants = bool(await invoke_callback(service.on_stop_job, params, self.executor))
        except Exception:
            self._crashed(run_id, "on_stop_job")
            return
        self.conn.send(msg.StopResult(run_id, wants))

    async def _network_changed(self, run_id: int, network: dict[str, Any] | None) -> None:
        assert self.conn is not None
        entry = self.running.get(run_id)
        if entry is not None:
            service, params = entry
            params.network = network
            try:
                await invoke_callback(service.on_network_changed, params, self.executor)
            except Exception:
                self._crashed(run_id, "on_network_changed")
                return
        self.conn.send(msg.NetworkChangedDone(run_id))

    async def _notification_action(self, message: msg.NotificationAction) -> None:
        """A click on one of the app's notification buttons: call its receiver.

        Nothing is sent back (a broadcast has no answer); an exception goes to the worker log
        and the worker carries on.
        """
        self._activity.set()
        try:
            # never import a module on two threads at once: finish (or give up on) the preload
            self._preloaded.wait(PRELOAD_WAIT_S)
            await self.receivers.deliver(
                message.receiver, message.notification_id, message.action_id, message.params
            )
        except Exception:
            print(
                f"uidt worker {self.app}: the notification receiver failed:\n"
                + traceback.format_exc()[-MAX_TRACEBACK_CHARS:],
                file=sys.stderr,
                flush=True,
            )
        finally:
            self._activity.set()

    async def _idle_watch(self) -> str:
        """Return after ``idle_timeout`` seconds with nothing running or starting."""
        while True:
            self._activity.clear()
            if self.running:
                await self._activity.wait()
                continue
            try:
                await asyncio.wait_for(self._activity.wait(), timeout=self.idle_timeout)
            except TimeoutError:
                if not self.running:
                    return "idle"


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m uidt.host.worker``."""
    mark("worker.main")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # The app's log records (INFO and up) go to stderr, which the host points at the worker log.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from uidt.redactlog import redact_log_handlers

    redact_log_handlers(logging.getLogger())  # no password of a URL reaches the worker log
    sock = socket.socket(fileno=args.fd)
    channels = frozenset(c for c in args.channels.split(",") if c)
    preload = tuple(s for s in args.preload.split(",") if s)
    worker = Worker(args.app, channels, args.idle_timeout, preload)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(worker.serve(sock))
    # Cancel what the app itself left running on the loop (e.g. a transfer task it started) and
    # let it clean up briefly: a transfer commits its checkpoint on cancellation.
    leftovers = asyncio.all_tasks(loop)
    for task in leftovers:
        task.cancel()
    if leftovers:
        loop.run_until_complete(asyncio.wait(leftovers, timeout=CLEANUP_TIMEOUT_S))
    sys.stdout.flush()
    sys.stderr.flush()
    # The app's own threads (and blocked callbacks) must not keep the process alive.
    os._exit(0)


if __name__ == "__main__":
    main()

"""The daemon's side of app hosting: one worker per app, and the messages to and from it.

:class:`AppHost` decides nothing. It starts workers through a :class:`~uidt.host.launcher.Launcher`,
forwards the core's start/stop requests, and reports facts (:mod:`uidt.host.events`): bound, bind
failed, the app's replies and calls, crashes, and process death (end of stream, or the process
exiting). A worker that sends a malformed or oversized frame is killed and reported dead; the
daemon carries on serving every other app.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import time
from pathlib import Path
from typing import Any

from uidt.errors import ProtocolError
from uidt.host.events import BindFailed, Bound, EventSink, HostEvent, ProcessDied
from uidt.host.inbound import report
from uidt.host.launcher import Launcher, SubprocessLauncher, WorkerProcess
from uidt.host.workerhandle import WorkerHandle
from uidt.job.params import JobParameters
from uidt.job.reasons import InternalStopReason, StopReason
from uidt.packages.manifest import Manifest
from uidt.timing import mark

log = logging.getLogger("uidt.host")

# The wire format (msgspec, ~15-20 ms to import) is imported where a worker is talked to (here,
# in workerhandle and in inbound), so that the daemon's socket answers before it is loaded
# (tests/daemon/test_main.py).

__all__ = ["AppHost"]

#: How long a worker that closed its socket may take to exit before it is killed.
EXIT_GRACE_S = 2.0


class AppHost:
    """Workers of every app, keyed by package name.

    Args:
        sink: where facts go: any callable taking a :data:`~uidt.host.events.HostEvent` (the
            daemon's ``Runtime.on_host_event``, or an :class:`~uidt.host.events.EventQueue`).
        launcher: how workers start (default: :class:`SubprocessLauncher` logging to ``log_dir``).
        log_dir: the workers' stdout/stderr folder for the default launcher.
        idle_timeout_s: a worker exits after this long without a job.
        hello_timeout_s: how long a starting worker may take to say hello (the core's own bind
            timeout is separate and usually shorter).
    """

    def __init__(
        self,
        sink: EventSink,
        *,
        launcher: Launcher | None = None,
        log_dir: Path | None = None,
        idle_timeout_s: float = 60.0,
        hello_timeout_s: float = 18.0,
    ) -> None:
        self.sink = sink
        self.launcher: Launcher = launcher or SubprocessLauncher(log_dir)
        self.idle_timeout_s = idle_timeout_s
        self.hello_timeout_s = hello_timeout_s
        self.workers: dict[str, WorkerHandle] = {}
        self._binding: set[str] = set()
        #: Set when a bind under way ends (a notification action waits for it).
        self._bind_done: dict[str, asyncio.Event] = {}
        #: Prestarted workers still saying hello: the task, the process and the daemon's socket.
        self._adopting: dict[str, tuple[asyncio.Task[None], WorkerProcess, socket.socket]] = {}
        self._seq = itertools.count(1)
        self._closed = False

    def closed(self) -> bool:
        """``True`` after :meth:`close`: no worker is started any more."""
        return self._closed

    def _emit(self, event: HostEvent) -> None:
        self.sink(event)

    # -- operations ----------------------------------------------------------------------------

    async def bind(self, manifest: Manifest) -> None:
        """Make sure the app's worker runs; reports ``Bound`` or ``BindFailed``.

        After :meth:`close` nothing is started and nothing is reported (the daemon is ending).
        """
        app = manifest.package
        if self.closed():
            log.info("not starting the worker of %s: the host is closed", app)
            return
        adopting = self._adopting.get(app)
        if adopting is not None:  # a prestarted worker is saying hello: use it if it does
            await asyncio.wait({adopting[0]})  # neither cancels it nor raises what it raised
            if self.closed():
                return
        if app in self.workers:
            self._emit(Bound(app))
            return
        if app in self._binding:
            return
        self._binding.add(app)
        try:
            await self._bind_new(manifest)
        finally:
            self._binding.discard(app)
            waiter = self._bind_done.pop(app, None)
            if waiter is not None:
                waiter.set()

    async def _bind_new(self, manifest: Manifest) -> None:
        app = manifest.package
        try:
            worker = await self._launch(manifest)
        except (OSError, ProtocolError, TimeoutError) as exc:
            log.error("could not start the worker of %s: %s", app, exc)
            self._emit(BindFailed(app, str(exc) or type(exc).__name__))
            return
        if self.closed():  # closed while the worker was starting: it must not outlive the host
            worker.process.kill()
            worker.writer.close()
            await worker.process.wait()
            return
        self._register(worker)
        mark("host.bound")
        self._emit(Bound(app))

    def adopt(self, manifest: Manifest, process: WorkerProcess, sock: socket.socket) -> None:
        """Take over a worker that was started before the host existed (``daemon --prestart``).

        ``sock`` is the daemon's end of the worker's socket pair. The hello is awaited in the
        background and nothing is reported: the worker is simply there when the core first binds
        the app (a :meth:`bind` meanwhile waits for the hello). A worker that fails to say hello
        is killed and forgotten, and the next bind starts a fresh one. Call from the running loop.
        """
        app = manifest.package
        task = asyncio.get_running_loop().create_task(self._adopt(manifest, process, sock))
        self._adopting[app] = (task, process, sock)

        def forget(done: asyncio.Task[None]) -> None:
            if not self._closed and self._adopting.get(app, (None,))[0] is done:
                del self._adopting[app]

        task.add_done_callback(forget)

    async def _adopt(self, manifest: Manifest, process: WorkerProcess, sock: socket.socket) -> None:
        app = manifest.package
        try:
            worker = await self._handshake(manifest, process, sock)
        except (OSError, ProtocolError, TimeoutError) as exc:
            log.warning("the prestarted worker of %s did not start: %s", app, exc)
            return
        if self.closed() or app in self.workers:
            worker.process.kill()
            worker.writer.close()
            await worker.process.wait()
            return
        log.info("prestarted the worker of %s (pid %s)", app, process.pid)
        self._register(worker)

    def _register(self, worker: WorkerHandle) -> None:
        self.workers[worker.app] = worker
        worker.reader_task = asyncio.get_running_loop().create_task(self._read(worker))

    async def _launch(self, manifest: Manifest) -> WorkerHandle:
        mark("host.launch")
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            process = await self.launcher.launch(manifest, child, self.idle_timeout_s)
        except BaseException:
            parent.close()
            child.close()
            raise
        return await self._handshake(manifest, process, parent)

    async def _handshake(
        self, manifest: Manifest, process: WorkerProcess, parent: socket.socket
    ) -> WorkerHandle:
        """Wait for the worker's hello on ``parent``; kill the worker if it does not come."""
        from uidt.host import messages as msg
        from uidt.host import protocol

        try:
            reader, writer = await asyncio.open_unix_connection(sock=parent)
        except BaseException:
            parent.close()
            process.kill()
            raise
        worker = WorkerHandle(manifest.package, process, reader, writer)
        try:
            hello = await asyncio.wait_for(
                protocol.read_frame(reader, protocol.FROM_WORKER), self.hello_timeout_s
            )
            if not isinstance(hello, msg.Hello):
                raise ProtocolError(f"the worker of {manifest.package} did not say hello")
            if hello.version != protocol.VERSION:
                raise ProtocolError(
                    f"the worker of {manifest.package} speaks protocol {hello.version!r}, "
                    f"not {protocol.VERSION}"
                )
        except BaseException:
            process.kill()
            writer.close()
            with contextlib.suppress(Exception):
                await process.wait()
            raise
        return worker

    async def start_job(self, app: str, run_id: int, service: str, params: JobParameters) -> None:
        """Send ``start`` (``on_start_job``); without a worker, report the process dead."""
        from uidt.host import messages as msg

        worker = self.workers.get(app)
        if worker is None:
            self._emit(ProcessDied(app, None))
            return
        worker.send(msg.Start(run_id, service, params.to_dict()))

    async def stop_job(
        self,
        app: str,
        run_id: int,
        stop_reason: StopReason,
        internal_reason: InternalStopReason,
    ) -> None:
        """Send ``stop`` (``on_stop_job`` with the reasons); nothing to do without a worker."""
        from uidt.host import messages as msg

        worker = self.workers.get(app)
        if worker is not None:
            worker.send(msg.Stop(run_id, int(stop_reason), int(internal_reason)))

    async def network_changed(self, app: str, run_id: int, network: dict[str, Any] | None) -> None:
        """Send ``network_changed`` (``on_network_changed`` with ``params.network`` replaced)."""
        from uidt.host import messages as msg

        worker = self.workers.get(app)
        if worker is not None:
            worker.send(msg.NetworkChanged(run_id, network))

    async def bandwidth_limit(self, app: str, run_id: int, rate: int | None) -> None:
        """Send ``bandwidth_limit`` (the run's share of the global limit); no worker: nothing."""
        from uidt.host import messages as msg

        worker = self.workers.get(app)
        if worker is not None:
            worker.send(msg.BandwidthLimit(run_id, rate))

    async def notification_action(
        self, manifest: Manifest, notification_id: int, action_id: str, params: dict[str, Any]
    ) -> bool:
        """Hand a click to the app's notification receiver, starting its worker if none runs.

        Returns ``False`` when no worker could be started (the click is logged and dropped, as
        a broadcast to an app that cannot start is).
        """
        from uidt.host import messages as msg

        app = manifest.package
        receiver = manifest.notification_receiver
        if receiver is None:
            return False
        await self.bind(manifest)
        if app not in self.workers and app in self._binding:
            # a bind already under way (a job's) made ours return at once: wait for its end
            done = self._bind_done.setdefault(app, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.hello_timeout_s)
        worker = self.workers.get(app)
        if worker is None:
            log.warning("dropped a notification action for %s: its worker did not start", app)
            return False
        worker.send(msg.NotificationAction(receiver, notification_id, action_id, params))
        return True

    async def kill(self, app: str) -> None:
        """Kill the app's worker (the whole process group); death is reported by the reader."""
        worker = self.workers.get(app)
        if worker is None:
            self._emit(ProcessDied(app, None))
            return
        worker.process.kill()

    async def unbind(self, app: str) -> None:
        """Nothing to do: an idle worker exits by itself after ``idle_timeout_s``."""

    async def ping(self, app: str, within_s: float = 5.0) -> float:
        """A heartbeat round trip to the app's worker, in seconds.

        Raises:
            LookupError: the app has no worker.
            TimeoutError: no ``pong`` within ``within_s``.
        """
        worker = self.workers.get(app)
        if worker is None:
            raise LookupError(f"{app} has no worker")
        from uidt.host import messages as msg

        seq = next(self._seq)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        worker.pings[seq] = future
        began = time.perf_counter()
        worker.send(msg.Ping(seq))
        try:
            await asyncio.wait_for(future, within_s)
        finally:
            worker.pings.pop(seq, None)
        return time.perf_counter() - began

    def pid_of(self, app: str) -> int | None:
        """The worker's process id, if it runs as a process."""
        worker = self.workers.get(app)
        return None if worker is None else worker.process.pid

    async def close(self) -> None:
        """Kill every worker and wait until each is reported dead; start no more."""
        self._closed = True
        adopting = list(self._adopting.values())
        for task, _, _ in adopting:
            task.cancel()
        if adopting:
            await asyncio.wait([task for task, _, _ in adopting])
        for _, process, sock in adopting:  # cancelled, perhaps before it ran at all
            sock.close()
            process.kill()
            with contextlib.suppress(Exception):
                await process.wait()
        workers = list(self.workers.values())
        for worker in workers:
            worker.process.kill()
        tasks = [w.reader_task for w in workers if w.reader_task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- the reader ----------------------------------------------------------------------------

    async def _read(self, worker: WorkerHandle) -> None:
        from uidt.host import protocol

        clean_end = False
        try:
            while True:
                message = await protocol.read_frame(worker.reader, protocol.FROM_WORKER)
                if message is None:
                    clean_end = True
                    break
                report(worker, message, self._emit)
        except (ProtocolError, ConnectionError) as exc:
            log.error("the worker of %s broke the protocol: %s; killing it", worker.app, exc)
        except Exception:  # the sink failed on a well-formed message: our bug, not the app's
            log.exception("a message from the worker of %s was not handled; killing it", worker.app)
        finally:
            worker.writer.close()
            status = await self._reap(worker.process, clean_end)
            if self.workers.get(worker.app) is worker:
                del self.workers[worker.app]
            log.info("the worker of %s exited (status %s)", worker.app, status)
            self._emit(ProcessDied(worker.app, status))

    async def _reap(self, process: WorkerProcess, clean_end: bool) -> int | None:
        """Wait for a worker that closed its socket (briefly), else kill it; its exit status."""
        status: int | None = None
        if clean_end:
            with contextlib.suppress(TimeoutError):
                status = await asyncio.wait_for(process.wait(), EXIT_GRACE_S)
        process.kill()  # also ends whatever the app left behind in its process group
        if status is None:
            with contextlib.suppress(Exception):
                status = await process.wait()
        return status

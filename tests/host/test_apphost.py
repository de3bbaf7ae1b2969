"""AppHost against real worker processes (``tests/host/apps/hosttest``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from uidt.host.apphost import AppHost
from uidt.host.events import (
    Bound,
    BytesEstimated,
    BytesTransferred,
    EventQueue,
    Finished,
    HostEvent,
    JobCrashed,
    NetworkChangeHandled,
    NotificationSet,
    ProcessDied,
    StartResult,
    StopResult,
)
from uidt.host.launcher import SubprocessLauncher, WorkerProcess
from uidt.job.reasons import InternalStopReason, StopReason
from uidt.packages.manifest import Manifest

from .conftest import APP, log_lines, next_event, other_app, params

MODE = "host_app:ModeService"
SYNC = "host_app:SyncService"


def _wait_dead(pid: int, within_s: float = 10.0) -> bool:
    """``True`` once ``pid`` has ended (pidfd readable), ``False`` after ``within_s``."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], within_s)
        return bool(ready)
    finally:
        os.close(fd)


async def _bound(host: AppHost, events: EventQueue, manifest: Manifest) -> None:
    await host.bind(manifest)
    assert await next_event(events, Bound) == Bound(manifest.package)


async def test_a_service_that_finishes(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    await _bound(host, events, manifest)
    pid = host.pid_of(APP)
    assert pid is not None
    assert pid != os.getpid()
    assert os.getpgid(pid) == pid  # its own process group
    await host.start_job(APP, 7, MODE, params(1, 7, tmp_path, mode="finish"))
    seen: list[HostEvent] = []
    assert await next_event(events, StartResult, seen=seen) == StartResult(APP, 7, True)
    kinds = [type(e) for e in seen]
    assert kinds == [NotificationSet, BytesEstimated, BytesTransferred, Finished]
    note = seen[0]
    assert isinstance(note, NotificationSet)
    assert (note.run_id, note.notification_id, note.notification.title) == (7, 1, "job 1")
    assert seen[1] == BytesEstimated(APP, 7, 1000, -1)
    assert seen[3] == Finished(APP, 7, False)
    assert log_lines(tmp_path, 1) == ["start 7 finish"]


async def test_a_service_that_fails_reports_its_reason(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    await _bound(host, events, manifest)
    await host.start_job(APP, 8, MODE, params(1, 8, tmp_path, mode="fail"))
    assert await next_event(events, Finished) == Finished(
        APP, 8, False, "[Errno 28] No space left on device"
    )


async def test_a_failure_that_is_not_a_string_breaks_the_protocol(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    await _bound(host, events, manifest)
    await host.start_job(APP, 9, MODE, params(1, 9, tmp_path, mode="fail_with_a_number"))
    assert await next_event(events, ProcessDied) == ProcessDied(APP, -signal.SIGKILL)


async def test_a_sync_service_runs_in_a_thread_and_waits_for_the_answer(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    await _bound(host, events, manifest)
    await host.start_job(APP, 1, SYNC, params(1, 1, tmp_path, mode="finish"))
    await next_event(events, NotificationSet)
    assert await next_event(events, Finished) == Finished(APP, 1, False)
    assert await next_event(events, StartResult) == StartResult(APP, 1, True)
    (line,) = log_lines(tmp_path, 1)
    assert line.startswith("start 1 finish uidt-org.test.host")


async def test_an_exception_in_on_start_job_is_reported_as_a_crash(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    await _bound(host, events, manifest)
    await host.start_job(APP, 3, MODE, params(1, 3, tmp_path, mode="raise"))
    crash = await next_event(events, JobCrashed)
    assert (crash.app, crash.run_id, crash.phase) == (APP, 3, "on_start_job")
    assert "RuntimeError: boom in on_start_job" in crash.traceback
    assert (crash.exception_type, crash.message) == ("RuntimeError", "boom in on_start_job")
    assert await host.ping(APP) < 5  # the host decides nothing: the worker still serves


async def test_an_exception_in_on_stop_job_is_reported_as_a_crash(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    await _bound(host, events, manifest)
    await host.start_job(APP, 3, SYNC, params(1, 3, tmp_path, mode="block"))
    await host.stop_job(APP, 3, StopReason.USER, InternalStopReason.CANCELED)
    crash = await next_event(events, JobCrashed)
    assert (crash.run_id, crash.phase) == (3, "on_stop_job")
    assert "ValueError: boom in on_stop_job" in crash.traceback


async def test_an_unimportable_service_fails_that_start_only(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    await _bound(host, events, manifest)
    await host.start_job(APP, 1, "no_such_module:Nope", params(1, 1, tmp_path))
    crash = await next_event(events, JobCrashed)
    assert (crash.run_id, crash.phase) == (1, "import")
    assert "ModuleNotFoundError" in crash.traceback
    assert crash.exception_type == "ModuleNotFoundError"
    assert crash.message == "No module named 'no_such_module'"
    await host.start_job(APP, 2, MODE, params(2, 2, tmp_path, mode="finish"))
    assert await next_event(events, StartResult) == StartResult(APP, 2, True)


async def test_a_blocked_on_start_job_does_not_stop_the_worker_answering(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    await _bound(host, events, manifest)
    await host.start_job(APP, 1, SYNC, params(1, 1, tmp_path, mode="block"))
    await host.start_job(APP, 2, MODE, params(2, 2, tmp_path, mode="block"))
    assert await host.ping(APP) < 5
    await host.start_job(APP, 3, MODE, params(3, 3, tmp_path, mode="finish"))
    assert await next_event(events, StartResult) == StartResult(APP, 3, True)
    assert await host.ping(APP) < 5


async def test_stop_calls_on_stop_job_and_job_stopped_escapes_except_exception(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    await _bound(host, events, manifest)
    await host.start_job(APP, 5, MODE, params(1, 5, tmp_path, mode="run"))
    await next_event(events, StartResult)
    await host.stop_job(
        APP, 5, StopReason.CONSTRAINT_CONNECTIVITY, InternalStopReason.CONSTRAINTS_NOT_SATISFIED
    )
    assert await next_event(events, StopResult) == StopResult(APP, 5, True)
    assert log_lines(tmp_path, 1)[1] == f"stop 5 {int(StopReason.CONSTRAINT_CONNECTIVITY)}"
    await host.stop_job(APP, 5, StopReason.USER, InternalStopReason.CANCELED)  # already stopped
    assert await next_event(events, StopResult) == StopResult(APP, 5, False)
    # The app's own thread notes what escaped after the stop; nothing orders that note before
    # the answers above, so wait for it (a real process: poll, at most 10 s) before the kill.
    for _ in range(1000):
        if len(log_lines(tmp_path, 1)) >= 3:
            break
        await asyncio.sleep(0.01)
    await host.kill(APP)
    await next_event(events, ProcessDied)
    assert log_lines(tmp_path, 1)[2:] == ["escaped JobStopped"]


async def test_a_network_change_reaches_on_network_changed(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    await _bound(host, events, manifest)
    await host.start_job(APP, 4, MODE, params(1, 4, tmp_path, mode="run"))
    await next_event(events, StartResult)
    await host.network_changed(APP, 4, {"transport": "wifi"})
    assert await next_event(events, NetworkChangeHandled) == NetworkChangeHandled(APP, 4)
    assert log_lines(tmp_path, 1)[1] == "network {'transport': 'wifi'}"
    await host.network_changed(APP, 99, None)  # no such run: acknowledged all the same
    assert await next_event(events, NetworkChangeHandled) == NetworkChangeHandled(APP, 99)


async def test_sigkill_mid_run_reports_death_without_on_stop_job(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    await _bound(host, events, manifest)
    await host.start_job(APP, 1, MODE, params(1, 1, tmp_path, mode="run"))
    await next_event(events, StartResult)
    pid = host.pid_of(APP)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # an outside kill (the kernel's OOM killer, say)
    assert await next_event(events, ProcessDied) == ProcessDied(APP, -signal.SIGKILL)
    assert log_lines(tmp_path, 1) == ["start 1 run"]
    assert host.pid_of(APP) is None


async def test_kill_ends_both_jobs_and_the_whole_process_group(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    await _bound(host, events, manifest)
    await host.start_job(APP, 1, MODE, params(1, 1, tmp_path, mode="spawn"))
    await host.start_job(APP, 2, MODE, params(2, 2, tmp_path, mode="run"))
    started = {(await next_event(events, StartResult)).run_id for _ in range(2)}
    assert started == {1, 2}
    grandchild = int(log_lines(tmp_path, 1)[1].split()[1])
    assert os.getpgid(grandchild) == host.pid_of(APP)
    await host.kill(APP)
    assert await next_event(events, ProcessDied) == ProcessDied(APP, -signal.SIGKILL)
    assert _wait_dead(grandchild)
    assert log_lines(tmp_path, 1) == ["start 1 spawn", f"child {grandchild}"]
    assert log_lines(tmp_path, 2) == ["start 2 run"]


async def test_garbage_from_a_worker_kills_it_and_the_host_serves_other_apps(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    other = other_app(manifest, "org.test.other")
    await _bound(host, events, manifest)
    await _bound(host, events, other)
    await host.start_job(APP, 1, MODE, params(1, 1, tmp_path, mode="garbage"))
    assert await next_event(events, ProcessDied) == ProcessDied(APP, -signal.SIGKILL)
    await host.start_job("org.test.other", 2, MODE, params(2, 2, tmp_path, mode="finish"))
    assert await next_event(events, StartResult) == StartResult("org.test.other", 2, True)
    await host.start_job(APP, 3, MODE, params(3, 3, tmp_path))  # no worker any more
    assert await next_event(events, ProcessDied) == ProcessDied(APP, None)


async def test_stale_run_ids_are_passed_through(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    await _bound(host, events, manifest)
    stale = "host_app:StaleService"
    await host.start_job(APP, 10, stale, params(1, 10, tmp_path))
    assert await next_event(events, Finished) == Finished(APP, 10, False)
    await host.start_job(APP, 11, stale, params(1, 11, tmp_path))
    assert await next_event(events, Finished) == Finished(APP, 10, True)
    assert await next_event(events, Finished) == Finished(APP, 11, False)


async def test_a_refused_notification_raises_in_the_app(manifest: Manifest, tmp_path: Path) -> None:
    def refuse(event: NotificationSet) -> None:
        from uidt.errors import InvalidJobError

        raise InvalidJobError(f"refused run {event.run_id}")

    events = EventQueue(check_notification=refuse)
    host = AppHost(events, idle_timeout_s=30)
    try:
        await _bound(host, events, manifest)
        await host.start_job(APP, 1, MODE, params(1, 1, tmp_path, mode="refused"))
        await next_event(events, Finished)
        await host.start_job(APP, 2, SYNC, params(2, 2, tmp_path, mode="refused"))
        await next_event(events, Finished)
    finally:
        await host.close()
    assert log_lines(tmp_path, 1)[1] == "refused refused run 1"
    assert log_lines(tmp_path, 2)[1] == "refused refused run 2"


async def test_an_idle_worker_exits(manifest: Manifest, tmp_path: Path) -> None:
    events = EventQueue()
    host = AppHost(events, idle_timeout_s=0.2)
    try:
        await _bound(host, events, manifest)
        await host.start_job(APP, 1, MODE, params(1, 1, tmp_path, mode="finish"))
        await next_event(events, StartResult)
        assert await next_event(events, ProcessDied) == ProcessDied(APP, 0)
    finally:
        await host.close()


async def test_a_worker_exits_when_the_daemon_closes_its_socket(
    host: AppHost, events: EventQueue, manifest: Manifest
) -> None:
    await _bound(host, events, manifest)
    host.workers[APP].writer.close()
    assert await next_event(events, ProcessDied) == ProcessDied(APP, 0)


async def test_a_closed_host_starts_no_worker(
    events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    class Gate(SubprocessLauncher):
        launched = asyncio.Event()

        async def launch(self, *args: Any) -> WorkerProcess:
            process = await super().launch(*args)
            self.launched.set()
            return process

    gate = Gate()
    host = AppHost(events, launcher=gate)
    bind = asyncio.get_running_loop().create_task(host.bind(manifest))
    await asyncio.wait_for(gate.launched.wait(), 10)  # closed while the worker starts
    await host.close()
    await bind
    await host.bind(manifest)
    assert host.workers == {}
    assert events.queue.empty()


async def test_a_worker_with_a_broken_interpreter_fails_to_bind(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    data = manifest.to_dict()
    data["python"] = str(tmp_path / "no-python")
    await host.bind(Manifest.from_dict(data))
    from uidt.host.events import BindFailed

    failed = await next_event(events, BindFailed)
    assert failed.app == APP


async def _prestarted(
    manifest: Manifest, idle_timeout_s: float = 30.0
) -> tuple[WorkerProcess, socket.socket]:
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    process = await SubprocessLauncher().launch(manifest, child, idle_timeout_s)
    return process, parent


async def test_an_adopted_worker_serves_the_first_bind_without_a_new_process(
    host: AppHost, events: EventQueue, manifest: Manifest, tmp_path: Path
) -> None:
    process, sock = await _prestarted(manifest)
    host.adopt(manifest, process, sock)
    await _bound(host, events, manifest)  # waits for the hello, then reports Bound
    assert host.pid_of(APP) == process.pid
    await host.start_job(APP, 1, MODE, params(1, 1, tmp_path))
    assert await next_event(events, Finished) == Finished(APP, 1, False)


class _Silent:
    """A "prestarted worker" that never says hello: a sleeping process in its own group."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pid = process.pid

    def kill(self) -> None:
        if self.process.returncode is None:  # (a reaped group's id may be someone else's)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    async def wait(self) -> int | None:
        return await self.process.wait()


async def _silent(*keep_open: socket.socket) -> _Silent:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import time; time.sleep(60)",
        start_new_session=True,
        pass_fds=[s.fileno() for s in keep_open],
    )
    return _Silent(process)


async def test_a_prestarted_worker_that_never_says_hello_is_replaced(
    events: EventQueue, manifest: Manifest
) -> None:
    host = AppHost(events, idle_timeout_s=30, hello_timeout_s=0.5)
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    silent = await _silent(child)  # it holds its end open: only the hello timeout ends it
    child.close()
    try:
        host.adopt(manifest, silent, parent)
        assert await asyncio.wait_for(silent.wait(), 30) == -signal.SIGKILL
        # The fresh worker the bind starts is a real interpreter: on a loaded machine its hello
        # takes longer than the 0.5 s the silent one was given (0.64 s seen with a busy CPU).
        host.hello_timeout_s = 30.0
        await _bound(host, events, manifest)
        assert host.pid_of(APP) not in (None, silent.pid)
    finally:
        silent.kill()
        await host.close()


async def test_a_bind_waits_for_a_prestarted_worker_that_hangs_up_then_starts_its_own(
    events: EventQueue, manifest: Manifest
) -> None:
    host = AppHost(events, idle_timeout_s=30)  # the default hello timeout: no time is measured
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    silent = await _silent()
    child.close()  # nobody holds the worker's end: the daemon reads the end of the stream
    try:
        host.adopt(manifest, silent, parent)
        await _bound(host, events, manifest)  # waits for the adoption to fail, then launches
        assert host.pid_of(APP) not in (None, silent.pid)
        assert await asyncio.wait_for(silent.wait(), 30) == -signal.SIGKILL
    finally:
        silent.kill()
        await host.close()


async def test_closing_the_host_kills_a_worker_still_saying_hello(
    events: EventQueue, manifest: Manifest
) -> None:
    host = AppHost(events, idle_timeout_s=30)
    process, sock = await _prestarted(manifest)
    host.adopt(manifest, process, sock)
    await host.close()  # at once: the hello has not come yet
    assert await asyncio.wait_for(process.wait(), 10) is not None
    assert host.pid_of(APP) is None

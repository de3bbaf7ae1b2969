"""A part file still locked by a worker whose daemon died (``kill -9``, then a new run): the new
run waits for it, bounded, instead of failing the job; a genuine second writer is still refused.

The holders are real processes: a "daemon" that starts a worker holding the lock and dies at
once (the worker is orphaned, as after a ``kill -9`` of the daemon), or a worker of a daemon that
is alive. The test orders them through pipes: a holder exits when its stdin closes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from uidt.host.command import DAEMON_PID_ENV
from uidt.job.params import JobParameters
from uidt.testing.clock import FakeClock
from uidt.testing.httpserver import RecordingSleep, TransferTestServer
from uidt.testing.serviceconn import RecordingConnection
from uidt.transfers import lockholder
from uidt.transfers.lockholder import HolderKind, holder_kind
from uidt.transfers.partfile import PartFile, part_path
from uidt.transfers.retry import RetryPolicy
from uidt.transfers.running import RUNNING, Running
from uidt.transfers.service import HttpDownloadService

DEADLINE_S = 20.0

#: Locks the part file, says its pid, and holds the lock until its stdin closes.
HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print(os.getpid(), flush=True)
sys.stdin.read()
"""

#: A "daemon": starts the holder as its worker (its pid in the worker's environment) and exits
#: at once, leaving the worker orphaned. ``--alive``: it stays until its stdin closes.
DAEMON = f"""
import os, subprocess, sys
env = dict(os.environ, {DAEMON_PID_ENV}=str(os.getpid()))
worker = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], env=env)
if "--alive" in sys.argv:
    sys.stdin.read()
    worker.wait()
"""


async def _run(url: str, dest: Path) -> RecordingConnection:
    """One run of the download job of ``url`` to ``dest`` (job 1)."""
    connection = RecordingConnection()
    service = HttpDownloadService()
    service.retry_policy = RetryPolicy(retries=2, link_retries=2)
    service.sleep = RecordingSleep()
    service.attach(connection)
    params = JobParameters(job_id=1, extras={"url": url, "dest": str(dest)}, run_id=1)
    assert await service.on_start_job(params) is True
    await asyncio.wait_for(connection.ended.wait(), DEADLINE_S)
    return connection


class Holder:
    """A worker holding ``part``'s lock, started by a daemon that died or lives on."""

    def __init__(self, daemon: subprocess.Popen[bytes], pid: int) -> None:
        self.daemon = daemon
        self.pid = pid

    def let_go(self) -> None:
        """Close the worker's stdin (shared with its daemon): it exits, the lock is free."""
        assert self.daemon.stdin is not None
        self.daemon.stdin.close()

    async def end(self) -> None:
        """Let go, and wait (bounded) until the worker and its daemon are gone."""
        self.let_go()
        await _gone(self.pid)
        assert self.daemon.stdout is not None  # shared with the worker: read to its end
        await asyncio.to_thread(self.daemon.stdout.read)
        self.daemon.stdout.close()
        await asyncio.to_thread(self.daemon.wait, DEADLINE_S)


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)


async def _holder(holders: list[Holder], part: Path, *, alive: bool) -> Holder:
    """Start a holder of ``part``'s lock (kept in ``holders``, so the fixture ends it)."""
    args = [sys.executable, "-c", DAEMON, HOLDER, str(part), *(["--alive"] if alive else [])]
    daemon = _spawn(args)
    assert daemon.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(daemon.stdout.readline), DEADLINE_S)
    holder = Holder(daemon, int(line))  # it holds the lock now
    holders.append(holder)
    if not alive:
        await asyncio.to_thread(daemon.wait, DEADLINE_S)  # the daemon is gone
    return holder


async def _gone(pid: int) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while _state(pid) not in ("Z", "X"):  # a zombie holds no lock
        assert time.monotonic() < deadline, f"process {pid} did not exit"
        await asyncio.sleep(0.02)


def _state(pid: int) -> str:
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return "X"
    return data[data.rindex(b")") + 2 :].split()[0].decode()


@pytest.fixture
async def holders() -> AsyncIterator[list[Holder]]:
    """The holders a test starts; each one let go and awaited afterwards (none is leaked)."""
    started: list[Holder] = []
    yield started
    for holder in started:
        await holder.end()


def _seen(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, list[HolderKind]]:
    """Record each judgement of a holder; the event is set once one reads orphaned."""
    orphan_seen = asyncio.Event()
    kinds: list[HolderKind] = []
    real: Callable[[int | None], HolderKind] = lockholder.holder_kind

    def judged(pid: int | None) -> HolderKind:
        kind = real(pid)
        kinds.append(kind)
        if kind is HolderKind.ORPHANED:
            orphan_seen.set()
        return kind

    monkeypatch.setattr(lockholder, "holder_kind", judged)
    return orphan_seen, kinds


async def test_a_run_waits_for_the_worker_of_a_dead_daemon_then_completes(
    server: TransferTestServer,
    payload: bytes,
    tmp_path: Path,
    holders: list[Holder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.add_file("/f.bin", payload)
    dest = tmp_path / "f.bin"
    holder = await _holder(holders, part_path(dest), alive=False)
    orphan_seen, _kinds = _seen(monkeypatch)
    run = asyncio.create_task(_run(server.url("/f.bin"), dest))
    await asyncio.wait_for(orphan_seen.wait(), DEADLINE_S)  # the run found it, and waits
    assert not dest.exists()
    holder.let_go()
    [end] = (await asyncio.wait_for(run, DEADLINE_S)).ends()
    assert end == {"wants_reschedule": False}  # finished, never failed
    assert dest.read_bytes() == payload
    assert not part_path(dest).exists()


async def test_a_worker_of_a_dead_daemon_that_never_exits_ends_the_run_for_a_retry(
    server: TransferTestServer,
    payload: bytes,
    tmp_path: Path,
    holders: list[Holder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lockholder, "ORPHAN_WAIT_S", 0.3)
    server.add_file("/f.bin", payload)
    dest = tmp_path / "f.bin"
    holder = await _holder(holders, part_path(dest), alive=False)
    started = time.monotonic()
    connection = await _run(server.url("/f.bin"), dest)
    assert time.monotonic() - started < DEADLINE_S  # bounded: no hang
    [end] = connection.ends()
    assert end == {"wants_reschedule": True}  # not failed: rescheduled with backoff
    text = connection.last_text()
    assert f"pid {holder.pid}" in text
    assert "a uidt daemon that is gone still holds it after 0.3 s" in text
    assert not dest.exists()


async def test_a_live_worker_of_another_daemon_is_refused_at_once(
    server: TransferTestServer,
    payload: bytes,
    tmp_path: Path,
    holders: list[Holder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.add_file("/f.bin", payload)
    dest = tmp_path / "f.bin"
    holder = await _holder(holders, part_path(dest), alive=True)
    _orphan_seen, kinds = _seen(monkeypatch)
    [end] = (await _run(server.url("/f.bin"), dest)).ends()
    assert kinds == [HolderKind.OTHER]
    assert end["wants_reschedule"] is False
    assert f"another transfer is writing {dest} (pid {holder.pid})" in end["failure"]
    assert not dest.exists()


async def test_another_job_of_this_daemon_writing_the_destination_fails_the_job(
    server: TransferTestServer, payload: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DAEMON_PID_ENV, str(os.getppid()))  # this process is a daemon's worker
    server.add_file("/f.bin", payload)
    dest = tmp_path / "f.bin"
    other = JobParameters(job_id=7, extras={"url": "http://127.0.0.1:1/", "dest": str(dest)})
    monkeypatch.setitem(RUNNING, 7, Running(None, other, None))  # type: ignore[arg-type]
    holder = PartFile(dest, server.url("/f.bin"), hashing=False, clock=FakeClock())
    holder.lock()  # job 7's run writes it
    try:
        [end] = (await _run(server.url("/f.bin"), dest)).ends()
    finally:
        holder.release()
    assert end["wants_reschedule"] is False
    assert "another transfer is writing" in end["failure"]
    assert "job 7 is downloading into it" in end["failure"]


async def test_an_earlier_run_of_the_same_job_still_letting_go_is_a_retry(
    server: TransferTestServer, payload: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DAEMON_PID_ENV, str(os.getppid()))  # this process is a daemon's worker
    server.add_file("/f.bin", payload)
    dest = tmp_path / "f.bin"
    holder = PartFile(dest, server.url("/f.bin"), hashing=False, clock=FakeClock())
    holder.lock()  # this job's earlier run, in this worker, has not let go yet
    try:
        connection = await _run(server.url("/f.bin"), dest)
    finally:
        holder.release()
    [end] = connection.ends()
    assert end == {"wants_reschedule": True}
    assert "an earlier run of this job has not let go of it yet" in connection.last_text()


def test_what_a_holder_is_read_from_proc(tmp_path: Path) -> None:
    assert holder_kind(None) is HolderKind.OTHER
    assert holder_kind(os.getpid()) is HolderKind.OTHER  # not a daemon's worker
    assert holder_kind(os.getppid()) is HolderKind.OTHER  # no worker's environment
    assert holder_kind(2**22 + 1) is HolderKind.ORPHANED  # gone: the lock is free again

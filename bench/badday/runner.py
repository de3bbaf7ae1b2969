"""One client through one trace on one lane: start it, replay the faults, measure.

The harness is the only actor besides the client: it flips the link, changes the rate, tells
uidt's device that the network is metered (``uidt cmd device set metered=true``), kills
processes, and starts again what a person or the system would start again:

* uidt's daemon after a kill or a reboot, as a service manager would (counted as
  ``restarts by the system``, not as user actions); the device's metered state is told to the
  new daemon at once, as a real device would report it; a reboot gets a new boot id (a file
  bound over ``/proc/sys/kernel/random/boot_id`` in the daemon's mount namespace);
* a peer after a kill, or after it gave up: with the same command line (which resumes);
  each such start is a **user action**. For uidt a user action is a new ``uidt download``
  after the job ended without the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

import psutil

from bench.badday.clients import UIDT, peer_named, uidt_argv
from bench.badday.device import DaemonDevice, device_set
from bench.badday.lanedaemon import LaneDaemon
from bench.badday.laneproxy import LaneProxy
from bench.badday.linkwatch import LinkMonitor, read_link
from bench.badday.measure import Timeline
from bench.badday.net import ENV_TAG, PROXY_PORT, Lane
from bench.badday.report import RunResult
from bench.badday.trace import KILLS, Event, Kind, Trace, lower_bound_s

POLL_S = 0.05
FILE_NAME = "badday.bin"
#: What the file becomes on the server at the trace's ETag change (same size, other bytes).
CHANGED_NAME = "badday-changed.bin"
#: A run that has not ended this long after the trace's last fault is counted as failed.
GRACE_S = 120.0
#: A peer that gave up is started again this long after (a person noticing), once per give-up.
RESTART_AFTER_S = 5.0
#: How often the harness asks uidt's daemon about the job once ``--wait`` is gone.
JOB_POLL_S = 1.0
#: A guess of how long a lane takes to get ready, for the notes written before the shared
#: time zero is known (the zero itself waits for every lane, however long they take).
PREPARE_S = 3.0


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class ClientRun:
    """Runs ``client`` through ``trace`` on ``lane``; :meth:`run` returns the figures."""

    def __init__(
        self, lane: Lane, client: str, trace: Trace, workdir: Path, shas: tuple[str, str], tag: str
    ) -> None:
        self.lane = lane
        self.client = client
        self.trace = trace
        self.dir = workdir
        self.shas = shas  # the file's SHA-256 before and after the ETag change
        self.tag = tag
        self.dest = workdir / "out" / FILE_NAME
        self.url = f"http://{lane.server_ip}:{PROXY_PORT}/{FILE_NAME}"
        self.home = workdir / "home"
        self.env = {**os.environ, ENV_TAG: tag, "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc: subprocess.Popen[bytes] | None = None  # the peer, or uidt's --wait
        self.boot = ""  # the boot id the lane's daemon sees (a new one at each reboot)
        self.user_actions = 0
        self.system_restarts = 0
        self.notes: list[str] = []
        self.moments: list[tuple[float, str]] = []
        self.t0 = 0.0
        self.log_out: IO[bytes] | None = None
        self.restart_at: float | None = None  # a peer that gave up: when to start it again
        self.next_job_poll = 0.0
        self.uidtd = LaneDaemon(lane, self.home, workdir, self._popen, self.notes, self.now)
        self.device = DaemonDevice(
            lambda arg: device_set(self.home, arg),
            self.uidtd.serves,
            lambda: read_link(lane.client_ns, lane.client_if),
            self.now,
            self.notes,
            LinkMonitor(lane.client_ns, lane.client_if, env=self.env),
        )

    # -- processes -------------------------------------------------------------------------

    def _popen(self, argv: list[str]) -> subprocess.Popen[bytes]:
        assert self.log_out is not None
        return subprocess.Popen(
            argv, env=self.env, stdout=self.log_out, stderr=self.log_out, stdin=subprocess.DEVNULL
        )

    def _start_daemon(self, boot: str) -> None:
        """Start the lane's daemon (:meth:`LaneDaemon.start`) and tell it the device's state."""
        self.uidtd.start(boot)
        self.device.tell_new_daemon()

    def _start_client(self) -> None:
        if self.client == UIDT:
            argv = uidt_argv(
                self.home, "download", self.url, "-o", str(self.dest), "--network", "unmetered",
                "--wait",
            )  # fmt: skip
            self.proc = self._popen(self.lane.in_client(*argv))
        else:
            self.proc = self._popen(
                self.lane.in_client(*peer_named(self.client).argv(self.url, self.dest))
            )

    def _kill(self, proc: subprocess.Popen[bytes] | None) -> None:
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def _kill_lane_clients(self) -> None:
        """SIGKILL every process of this run in the client namespace (a power cut)."""
        for proc in subprocess.run(
            ["ip", "netns", "pids", self.lane.client_ns],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(proc), signal.SIGKILL)
        for popen in (self.proc, self.uidtd.proc):
            if popen is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    popen.wait(timeout=5)

    # -- the trace -------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() - self.t0

    def apply(self, event: Event, ending: bool) -> None:
        kind = event.kind
        self.moments.append((self.now(), f"{kind.value}{' end' if ending else ''}"))
        if kind is Kind.LINK_DOWN:
            self.lane.set_link(up=ending)
        elif kind is Kind.RATE:
            self.lane.set_rate(event.value)
        elif kind is Kind.METERED:
            if self.client == UIDT:
                self.device.set_metered(not ending)
        elif kind in KILLS:
            self._apply_kill(kind)

    def _apply_kill(self, kind: Kind) -> None:
        if self.client != UIDT:
            if self.restart_at is None and self.proc is not None and self.proc.poll() is None:
                self._kill(self.proc)
                self.user_actions += 1
                self._start_client()
            return
        with self.device.lock:
            self._kill_uidt(kind)

    def _kill_uidt(self, kind: Kind) -> None:
        if kind is Kind.KILL_DAEMON:
            self._kill(self.uidtd.proc)
            self.system_restarts += 1
            self._start_daemon(self.boot)
        elif kind is Kind.KILL_WORKER:
            worker = self.uidtd.worker()
            if worker is None:
                self.notes.append(f"{self.now():.1f}s kill-worker: no worker was running")
            else:
                with contextlib.suppress(psutil.Error):
                    worker.kill()
        elif kind is Kind.REBOOT:
            self._kill_lane_clients()
            self.boot = str(uuid.uuid4())
            self.system_restarts += 1
            self._start_daemon(self.boot)

    def _check_client(self) -> bool:
        """Whether the transfer is over (the file is there); start again what needs it."""
        if self.client == UIDT:
            return self._check_uidt()
        if self.restart_at is not None:
            if self.now() >= self.restart_at:
                self.restart_at = None
                self._start_client()
            return False
        assert self.proc is not None
        code = self.proc.poll()
        if code is None:
            return False
        if code == 0:
            return True
        self.notes.append(f"{self.now():.1f}s {self.client} exited {code}")
        self.user_actions += 1
        self.restart_at = self.now() + RESTART_AFTER_S
        return False

    def _check_uidt(self) -> bool:
        if self.dest.exists():
            return True
        if self.proc is not None and self.proc.poll() is not None:
            code = self.proc.returncode
            self.proc = None
            if code == 0:
                return self.dest.exists()
            self.notes.append(f"{self.now():.1f}s uidt download --wait exited {code}")
        if self.proc is None and self.now() >= self.next_job_poll:
            self.next_job_poll = self.now() + JOB_POLL_S
            if not self.uidtd.job_still_pending() and not self.dest.exists():
                self.notes.append(
                    f"{self.now():.1f}s the job ended without the file: submitted again"
                )
                self.user_actions += 1
                self._start_client()
        return False

    # -- one run ---------------------------------------------------------------------------

    def run(
        self, proxy_argv: list[str], proxy_log: Path, zero: Callable[[], float]
    ) -> tuple[RunResult, Timeline]:
        """Prepare the lane, then start the client at the time zero ``zero()`` returns.

        The lane is ready before the client's clock starts: the fault proxy accepts a
        connection made from the client's namespace (and, for uidt, the daemon serves).
        ``zero()`` waits until every lane of the seed is ready and returns the one time zero
        they all share; the proxy is told it on its standard input.
        """
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        self.lane.set_rate(self.trace.base_mbit)
        self.lane.set_link(up=True)
        self.lane.check_route()
        self.boot = str(uuid.uuid4())
        self.t0 = time.time() + PREPARE_S  # until the shared zero is known
        with open(self.dir / "client.log", "ab") as self.log_out:
            proxy = LaneProxy(self.lane, proxy_argv, self.env, self.log_out)
            try:
                proxy.wait_accepting()
                if self.client == UIDT:
                    self._start_daemon(self.boot)
                    self.device.start_watching()
                self.t0 = zero()
                proxy.send_zero(self.t0)
                self._start_client()
                done = self._replay()
            finally:
                self.device.stop_watching()
                self.lane.set_link(up=True)
                self._kill_lane_clients()
                proxy.stop()
        timeline = self._timeline(proxy_log)
        return self._result(done, timeline), timeline

    def _replay(self) -> float | None:
        """Apply the trace until the client is done; its wall time, or ``None`` (gave up)."""
        pending: list[tuple[float, Event, bool]] = []
        for event in self.trace.events:
            pending.append((event.at, event, False))
            if event.kind in (Kind.LINK_DOWN, Kind.METERED):
                pending.append((event.end, event, True))
        pending.sort(key=lambda item: item[0])
        last = max((e.end for e in self.trace.events), default=0.0)
        while self.now() < last + GRACE_S:
            while pending and pending[0][0] <= self.now():
                _, event, ending = pending.pop(0)
                self.apply(event, ending)
            if self._check_client():
                return self.now()
            time.sleep(POLL_S)  # noqa: TID251 - polling real processes, bounded by the deadline
        self.notes.append(f"gave up {GRACE_S:.0f}s after the last fault")
        return None

    def _result(self, wall: float | None, timeline: Timeline) -> RunResult:
        sha_ok = False
        if wall is not None and self.dest.exists():
            sha = sha256_of(self.dest)
            changes = [e.at for e in self.trace.events if e.kind is Kind.ETAG]
            asked_after_change = any(
                e.get("event") == "request" and changes and float(str(e["t"])) >= changes[0]
                for e in timeline.proxy_events
            )
            # The server's file is the changed one once the client asked for it after the
            # change; before that the original is the right answer.
            sha_ok = sha == (self.shas[1] if asked_after_change else self.shas[0])
            if not sha_ok:
                which = {self.shas[0]: "the original", self.shas[1]: "the changed file"}
                self.notes.append(
                    f"NOT the server's file: SHA-256 is {which.get(sha, 'neither version')}'s"
                    + (" (a mix of the two versions)" if sha not in which else "")
                )
        return RunResult(
            client=self.client,
            seed=self.trace.seed,
            byte_exact=sha_ok,
            wall_s=wall,
            sent_bytes=0,
            size=self.trace.size,
            metered_bytes=0,
            user_actions=self.user_actions,
            system_restarts=self.system_restarts,
            lower_bound_s=lower_bound_s(self.trace),
            lower_bound_unmetered_s=lower_bound_s(
                self.trace, frozenset({Kind.LINK_DOWN, Kind.METERED})
            ),
            notes=list(self.notes),
        )

    def _timeline(self, proxy_log: Path) -> Timeline:
        timeline = Timeline.read(proxy_log)
        timeline.moments = list(self.moments)
        timeline.metered_told = list(self.device.metered_told)
        timeline.link_told = list(self.device.link_told)
        return timeline

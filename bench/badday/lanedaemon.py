"""uidt's daemon on one lane, kept running as a service manager would keep it.

:class:`LaneDaemon` starts the daemon in the lane's client namespace (fake device, its own boot
id), waits until it serves the home, replaces a daemon the command line started itself while
this one was down, and answers the runner's questions about it: does it serve, which is its
app worker, may the job still run. The runner decides when to start it again.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from bench.badday.clients import uidt_argv
from bench.badday.device import daemon_request
from bench.badday.net import Lane
from uidt.errors import UidtError


class LaneDaemon:
    """The lane's daemon; ``proc`` is its process (``None`` before the first start)."""

    def __init__(
        self,
        lane: Lane,
        home: Path,
        workdir: Path,
        popen: Callable[[list[str]], subprocess.Popen[bytes]],
        notes: list[str],
        now: Callable[[], float],
    ) -> None:
        self.lane = lane
        self.home = home
        self._dir = workdir
        self._popen = popen
        self._notes = notes  # the run's notes (shared with the runner)
        self._now = now
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready = False

    def start(self, boot: str) -> None:
        """Start the lane's daemon (fake device, boot id ``boot``) and wait until it serves.

        While the daemon was down, the command line may have started one itself, as every
        uidt command does when none answers. That one reads the real device, which in the
        client namespace (no default route) means no network, where a real machine would read
        its real network; the harness kills it (``-9``, so ``--wait`` goes on following) and
        starts its own, and notes it.
        """
        self.ready = False
        boot_file = self._dir / f"boot-id-{boot}"
        boot_file.write_text(boot + "\n")
        script = 'mount --bind "$0" /proc/sys/kernel/random/boot_id && exec "$@"'
        argv = uidt_argv(self.home, "daemon", "start", "--foreground", "--device", "fake")
        for _ in range(3):
            self.proc = self._popen(self.lane.in_client("sh", "-c", script, str(boot_file), *argv))
            if self._serving(self.proc):
                break
            other = self._home_daemon()
            if other is None:
                raise RuntimeError(f"the uidt daemon exited with {self.proc.returncode}")
            self._notes.append(
                f"{self._now():.1f}s the command line had started a daemon itself "
                "(real device); the harness replaced it"
            )
            with contextlib.suppress(psutil.Error):
                other.kill()
                other.wait(timeout=10)
        else:
            raise RuntimeError("the uidt daemon did not start in three attempts")
        self.ready = True

    def _serving(self, daemon: subprocess.Popen[bytes]) -> bool:
        """Wait until ``daemon`` serves the home (``True``) or exits (``False``)."""
        deadline = time.monotonic() + 20
        pid_file = self.home / "daemon.pid"
        while time.monotonic() < deadline:
            if daemon.poll() is not None:
                return False
            mine = pid_file.exists() and pid_file.read_text().strip() == str(daemon.pid)
            if mine and self._answers():
                return True
            time.sleep(0.1)  # noqa: TID251 - polling a real process, bounded
        raise RuntimeError("the uidt daemon did not answer within 20 s")

    def _answers(self) -> bool:
        """Whether the home's daemon answers (asked from this process, as ``uidt daemon status``
        asks: a ``uidt`` command's Python start would hold up the trace's replay)."""
        try:
            daemon_request(self.home, "GET", "/v1/status")
        except UidtError:
            return False
        return True

    def _home_daemon(self) -> psutil.Process | None:
        """The process named by the home's pid file, if it runs."""
        with contextlib.suppress(OSError, ValueError, psutil.Error):
            return psutil.Process(int((self.home / "daemon.pid").read_text()))
        return None

    def serves(self) -> bool:
        """Whether the harness's daemon is up: only then may it be told (a ``uidt`` command
        that finds no daemon would start one with the real device)."""
        return self.ready and self.proc is not None and self.proc.poll() is None

    def worker(self) -> psutil.Process | None:
        """The daemon's app worker process, if one runs."""
        if self.proc is None:
            return None
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                if "uidt.host.worker" in " ".join(child.cmdline()):
                    return child
        return None

    def job_still_pending(self) -> bool:
        """Whether the download job may still run (``True`` also while the daemon is down)."""
        if self.proc is None or self.proc.poll() is not None:
            return True  # killed: the next daemon runs the persisted job again
        # From this process, not with `uidt jobs` (a Python start blocks the trace's replay).
        with contextlib.suppress(UidtError, KeyError, TypeError):
            jobs = daemon_request(self.home, "GET", "/v1/jobs", query={"all": True})["jobs"]
            states = [j.get("state") for j in jobs]
            return any(s not in ("finished", "cancelled", "user-stopped") for s in states)
        return True

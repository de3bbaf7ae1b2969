"""End-to-end fixtures: a REAL ``uidt daemon`` subprocess in a temporary home, and helpers.

The daemon runs with ``--device fake`` and shortened timeouts. Tests drive it only through
``uidt.JobScheduler``, the ``uidt`` command line and (for malformed requests) the raw control API.
Waiting is always a poll with a deadline (:func:`wait_for`), never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import psutil
import pytest

from uidt import JobInfo, JobScheduler, NetworkType
from uidt.app.connection import DaemonConnection
from uidt.errors import DaemonError
from uidt.home.paths import resolve_paths
from uidt.transfers.jobs import TRANSFERS_APP

T = TypeVar("T")

APPS_DIR = Path(__file__).resolve().parent.parent / "apps"
SAMPLE_DIR = APPS_DIR / "sample"
LIMITED_DIR = APPS_DIR / "limited"
SAMPLE = "org.example.sample"
LIMITED = "org.example.limited"
SAMPLE_SERVICE = "sample_app:SampleService"

#: Shortened timeouts for every e2e daemon (names as in ``uidt.settings.Settings``).
FAST_SETTINGS: dict[str, str] = {
    "bind_timeout_ms": "5000",
    # Short, yet with room for a loaded 2-core machine (a late notification is an ANR).
    "op_timeout_ms": "3000",
    "notification_timeout_ms": "3000",
    "worker_idle_timeout_ms": "60000",
    "cmd_run_connectivity_wait_ms": "300",
    "min_backoff_ms": "200",
}
STARTUP_TIMEOUT_S = 20.0
DEFAULT_WAIT_S = 15.0


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float = DEFAULT_WAIT_S,
    what: str = "condition",
    interval: float = 0.05,
) -> T:
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
        time.sleep(interval)  # noqa: TID251 - polling another process with a deadline


def stop_autostarted_daemon(home: Path) -> None:
    """SIGTERM every daemon process of ``home`` (one a CLI command autostarted) and wait for each
    to end.

    Found by its command line (``--home HOME``), not by the pid file alone: a daemon still
    starting has not written its pid file yet (a killed one's may still be there, naming a dead
    process), and a daemon missed here would outlive the test.
    """
    found = _daemons_of(home)
    for proc in found:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    for proc in found:
        wait_for(lambda p=proc: _gone(p), what=f"the daemon {proc.pid} to exit")


def reap(process: subprocess.Popen[Any]) -> None:
    """Kill ``process`` if it still runs, then wait for it and close its pipes.

    A pipe left open is a ``ResourceWarning`` when it is collected, maybe during a later test,
    which then fails (warnings are errors): a failure here must not spread to the next test.
    """
    if process.poll() is None:
        process.kill()
    with process:  # closes stdin, stdout and stderr, and waits
        pass


def running_transfers(daemon: Daemon) -> int:
    """How many jobs of the built-in transfer app the daemon runs now."""
    return sum(
        1
        for j in daemon.jobs(include_ended=False)
        if j["app"] == TRANSFERS_APP and j["state"] == "active"
    )


def read_lines_until(stream: IO[str], marker: str, timeout: float) -> list[str]:
    """Lines of ``stream`` (a command's piped output, plain lines) up to and with the first one
    holding ``marker``; all of them if the stream ends or ``timeout`` passes first."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            break
    return seen


def _daemons_of(home: Path) -> list[psutil.Process]:
    """The live daemon processes (``python -m uidt.daemon …`` or ``uidt daemon …``) of ``home``."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            line = proc.cmdline()
            if "--home" not in line[:-1] or line[line.index("--home") + 1] != str(home):
                continue
            if ("uidt.daemon" in line or "daemon" in line) and not _gone(proc):
                found.append(proc)
    return found


def _gone(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def clean_env() -> dict[str, str]:
    """This environment without the developer's ``UIDT_*`` settings and proxy variables."""
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("UIDT_") and k.lower() not in proxies
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def uij(
    job_id: int,
    mode: str,
    log: Path,
    *,
    network: NetworkType = NetworkType.ANY,
    persisted: bool = False,
    service: str = SAMPLE_SERVICE,
) -> JobInfo:
    """A user-initiated data transfer job for the sample app (``extras["mode"]`` picks its behaviour)."""
    return (
        JobInfo.Builder(job_id, service)
        .set_user_initiated(True)
        .set_required_network_type(network)
        .set_estimated_network_bytes(1000, 0)
        .set_persisted(persisted)
        .set_extras({"mode": mode, "log": str(log)})
        .build()
    )


def read_log(path: Path) -> list[str]:
    """The lines an app's callbacks appended to ``extras["log"]``."""
    return path.read_text().splitlines() if path.exists() else []


@dataclass
class Daemon:
    """One real daemon process for one home."""

    home: Path
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    #: More ``uidt daemon`` options (e.g. ``("--web", "127.0.0.1:0")``).
    extra_args: tuple[str, ...] = ()
    #: What runs the daemon's command (e.g. ``ip netns exec NAME``: a host of its own network).
    command_prefix: tuple[str, ...] = ()

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> Daemon:
        sets: list[str] = []
        for name, value in {**FAST_SETTINGS, **self.settings}.items():
            sets += ["--set", f"{name}={value}"]
        args = [*self.command_prefix, sys.executable, "-m", "uidt", "--home", str(self.home)]
        args += ["daemon", "--foreground"]
        args += ["--device", "fake", *sets, *self.extra_args]
        with (self.home / "daemon.out").open("ab") as out:
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=clean_env(),
                start_new_session=True,
            )
        wait_for(self._answers, STARTUP_TIMEOUT_S, "the daemon to answer /v1/ping")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                f"the daemon exited with status {self.process.returncode}:\n{self.output()}"
            )
        try:
            self.api("GET", "/v1/ping")
        except (OSError, DaemonError):
            return False
        return True

    def output(self) -> str:
        path = self.home / "daemon.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    @property
    def returncode(self) -> int | None:
        assert self.process is not None
        return self.process.poll()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        """SIGTERM (graceful shutdown), SIGKILL if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def kill9(self) -> None:
        """``kill -9`` the daemon (its workers notice the closed socket and exit)."""
        assert self.process is not None
        workers = self.worker_processes()
        self.process.kill()
        self.process.wait(timeout=5)
        for worker in workers:
            with contextlib.suppress(psutil.Error):
                worker.wait(timeout=10)

    # -- talking to it -------------------------------------------------------------------------

    def uidt(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run the ``uidt`` command line against this daemon."""
        return subprocess.run(
            [sys.executable, "-m", "uidt", "--home", str(self.home), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=clean_env(),
            check=False,
        )

    def uidt_json(self, *args: str) -> Any:
        done = self.uidt(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def api(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """One raw control-API request (the same data the CLI prints with ``--json``)."""
        conn = DaemonConnection(resolve_paths(self.home), autostart=False, timeout=30)
        return conn.request(method, path, body=body, query=query)

    def scheduler(self, app: str = SAMPLE) -> JobScheduler:
        return JobScheduler(app, home=self.home)

    def install(self, folder: Path) -> None:
        done = self.uidt("apps", "install", str(folder))
        assert done.returncode == 0, done.stderr

    def cmd(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``uidt cmd ARGS…`` through the command line (exit statuses, stdout, stderr)."""
        return self.uidt("cmd", *args)

    def shell(self, *args: str) -> str:
        """The same verb through the API (faster, for set-up): its stdout; it must succeed."""
        answer = self.api("POST", "/v1/cmd", {"args": list(args)})
        assert answer["code"] == 0, answer
        return str(answer["stdout"]).strip()

    def jobs(self, *, include_ended: bool = True) -> list[dict[str, Any]]:
        """What ``uidt jobs --json [--all]`` prints."""
        data: list[dict[str, Any]] = self.api("GET", "/v1/jobs", all=include_ended)["jobs"]
        return data

    def dumpsys(self) -> dict[str, Any]:
        data: dict[str, Any] = self.api("GET", "/v1/dumpsys")
        return data

    def job(self, job_id: int, app: str = SAMPLE) -> dict[str, Any] | None:
        """The live record of a job (``None`` if it has none), else its last ended record."""
        live = [j for j in self.jobs(include_ended=False) if _is(j, app, job_id)]
        if live:
            return live[-1]
        ended = [j for j in self.jobs(include_ended=True) if _is(j, app, job_id)]
        return ended[-1] if ended else None

    def wait_job(
        self,
        job_id: int,
        predicate: Callable[[dict[str, Any]], bool],
        what: str,
        *,
        app: str = SAMPLE,
        timeout: float = DEFAULT_WAIT_S,
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            job = self.job(job_id, app)
            return job if job is not None and predicate(job) else None

        return wait_for(check, timeout, f"job {job_id}: {what}")

    def wait_running(self, job_id: int, app: str = SAMPLE) -> dict[str, Any]:
        """Until the job executes and has posted its notification."""
        return self.wait_job(
            job_id,
            lambda j: j["state"] == "active" and j["notification"] is not None,
            "running with a notification",
            app=app,
        )

    def worker_processes(self, app: str | None = None) -> list[psutil.Process]:
        """The daemon's live worker processes (``python -m uidt.host.worker … --app APP``)."""
        found = []
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.pid).children():
                with contextlib.suppress(psutil.Error):
                    line = child.cmdline()
                    if "uidt.host.worker" not in line or child.status() == psutil.STATUS_ZOMBIE:
                        continue
                    if app is None or line[line.index("--app") + 1] == app:
                        found.append(child)
        return found

    def worker_pid(self, app: str = SAMPLE) -> int:
        procs = wait_for(lambda: self.worker_processes(app), what=f"a worker of {app}")
        assert len(procs) == 1, procs
        return procs[0].pid


def _is(job: dict[str, Any], app: str, job_id: int) -> bool:
    return bool(job["app"] == app and job["job_id"] == job_id)


@contextlib.contextmanager
def running_daemon(home: Path, settings: dict[str, str] | None = None) -> Iterator[Daemon]:
    daemon = Daemon(home, dict(settings or {}))
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon per test module, with the sample and the limited test apps installed."""
    with running_daemon(tmp_path_factory.mktemp("home")) as d:
        d.install(SAMPLE_DIR)
        d.install(LIMITED_DIR)
        yield d


@pytest.fixture
def app_log(tmp_path: Path) -> Path:
    """Where the sample app's callbacks log (one file per test)."""
    return tmp_path / "app.log"

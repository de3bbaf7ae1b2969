"""What ``uidt daemon start|stop|status|restart`` do, apart from their command-line parsing."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, replace
from typing import Any

from uidt.app.connection import DaemonConnection
from uidt.daemon.main import check_web, load_settings, parse_sets
from uidt.errors import DaemonError
from uidt.home.lock import live_holder
from uidt.home.paths import Paths
from uidt.settings import Settings, check_web_address

#: How long ``uidt daemon stop`` waits for the daemon to exit by default: its graceful stop
#: waits up to ``op_timeout_ms`` (8 s) for the running jobs, then closes the workers.
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class StartOptions:
    """The options of ``uidt daemon [start|restart]``; ``None``: not given on the command line."""

    foreground: bool = False
    store: str | None = None
    device: str | None = None
    web: str | None = None
    sets: tuple[str, ...] = ()
    prestart: tuple[str, ...] = ()

    def given(self) -> bool:
        """Whether any option was given (``uidt daemon --web X stop`` is refused)."""
        return self != StartOptions()

    def daemon_args(self) -> tuple[str, ...]:
        """The background daemon's command line (``python -m uidt.daemon …``)."""
        args = ["--device", self.device or "auto"]
        if self.store:
            args += ["--store", self.store]
        if self.web is not None:
            args += ["--web", self.web]
        for item in self.sets:
            args += ["--set", item]
        for app in self.prestart:
            args += ["--prestart", app]
        return tuple(args)

    def shell_words(self) -> str:
        """These options as the user would type them (for a ``uidt daemon restart …`` hint)."""
        words: list[str] = []
        if self.store:
            words += ["--store", self.store]
        if self.device:
            words += ["--device", self.device]
        if self.web is not None:
            words += ["--web", self.web]
        for item in self.sets:
            words += ["--set", item]
        return shlex.join(words)

    def over(self, running: dict[str, Any]) -> StartOptions:
        """These options on top of the ``options`` a running daemon was started with."""
        sets = {str(k): str(v) for k, v in (running.get("sets") or {}).items()}
        sets.update(parse_sets(self.sets))
        return replace(
            self,
            store=self.store or running.get("store"),
            device=self.device or running.get("device"),
            web=self.web if self.web is not None else running.get("web"),
            sets=tuple(f"{name}={value}" for name, value in sets.items()),
        )


def check_options(paths: Paths, options: StartOptions) -> Settings:
    """The settings a daemon started with ``options`` would have: bad ones fail here, at once.

    Raises:
        SettingsError: an unknown ``--set`` name, a bad value, a non-loopback ``--web``, or an
            unusable ``config.toml``.
    """
    if options.web is not None:
        check_web(options.web)
    return load_settings(paths, parse_sets(options.sets), options.web)


def running_status(conn: DaemonConnection) -> dict[str, Any] | None:
    """``GET /v1/status`` of the home's daemon; ``None`` when no daemon runs for the home.

    Raises:
        DaemonError: a daemon holds the home but does not answer (starting, or stuck).
    """
    try:
        status: dict[str, Any] = conn.request("GET", "/v1/status")
    except DaemonError as exc:
        holder = live_holder(conn.paths.lock)
        if holder is None:
            return None
        raise DaemonError(
            f"a uidt daemon (pid {holder}) holds {conn.paths.data_dir} but does not answer on "
            f"{conn.paths.socket} (still starting, or stuck): {exc}"
        ) from exc
    return status


def differences(status: dict[str, Any], options: StartOptions, settings: Settings) -> list[str]:
    """How the running daemon differs from what ``options`` ask for (empty: it matches)."""
    found: list[str] = []
    if options.web is not None and check_web_address(options.web) != status.get("web_address"):
        url = status.get("web_url")
        found.append(f"with the web page at {url}" if url else "without the web page")
    if options.device is not None and options.device != status.get("device"):
        found.append(f"with --device {status.get('device')}")
    if options.store is not None and options.store != (status.get("options") or {}).get("store"):
        found.append(f"with the store {status.get('store')}")
    running_settings = status.get("settings") or {}
    asked = settings.to_dict()
    for name in parse_sets(options.sets):
        if name in running_settings and running_settings[name] != asked.get(name):
            found.append(f"with {name}={running_settings[name]}")
    return found


def stop_daemon(conn: DaemonConnection, status: dict[str, Any], timeout_s: float) -> None:
    """Ask the daemon of ``status`` to shut down gracefully; return once its process has exited.

    Raises:
        DaemonError: it still runs after ``timeout_s``.
    """
    import psutil  # only for stop and restart

    pid = int(status["pid"])
    try:
        process: psutil.Process | None = psutil.Process(pid)
    except psutil.NoSuchProcess:
        process = None  # it answered from another pid namespace, or is already gone
    conn.request("POST", "/v1/shutdown")
    deadline = time.monotonic() + timeout_s
    while _alive(process) or _answers(conn):
        if time.monotonic() > deadline:
            raise DaemonError(
                f"the uidt daemon (pid {pid}) was asked to stop but still runs after "
                f"{timeout_s:g} s (it may still be stopping its jobs)"
            )
        time.sleep(0.05)  # noqa: TID251 - waiting for another process to exit, bounded


def _alive(process: Any) -> bool:
    import psutil

    if process is None:
        return False
    try:
        # is_running() also notices a pid reused by another process (by its start time)
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _answers(conn: DaemonConnection) -> bool:
    try:
        conn.request("GET", "/v1/ping")
    except DaemonError:
        return False
    return True


def uptime_text(seconds: float) -> str:
    """``3725`` → ``1h 2m 5s``."""
    whole = int(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if days or hours:
        parts.append(f"{hours}h")
    if days or hours or minutes:
        parts.append(f"{minutes}m")
    parts.append(f"{secs}s")
    return " ".join(parts)


def status_lines(status: dict[str, Any]) -> list[str]:
    """``uidt daemon status`` as text."""
    jobs = status.get("jobs") or {}
    web = status.get("web_url")
    labels = (status.get("settings") or {}).get("host_labels") or []
    return [
        f"uidt daemon: running (pid {status['pid']})",
        f"  home:    {status['home']}",
        f"  socket:  {status['socket']}",
        f"  uptime:  {uptime_text(float(status['uptime_s']))} (since {status['started_at']})",
        f"  store:   {status['store']}",
        f"  device:  {status['device']}",
        f"  web:     {web} (`uidt ui` prints a login link)" if web else "  web:     off",
        f"  jobs:    {jobs.get('running', 0)} running, {jobs.get('waiting', 0)} waiting",
        *([f"  labels:  {','.join(labels)} (host_labels)"] if labels else []),
    ]

"""``uidt daemon``: wires the core, store, device source, app host and API into one task group.

Start-up order (cold start matters: ``uidt download --wait`` waits for all of it, and so does a
restarted daemon's first resumed byte): take the home lock, start the workers asked for with
``--prestart`` and those of the built-in apps with persisted jobs (:func:`workers_to_prestart`;
they boot in parallel with the rest), and only then import asyncio and the heavy parts (the core,
the device readers, the store), open the store, load the persisted jobs and answer the socket.
Those imports therefore live inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from uidt.daemon.logs import setup_logging
from uidt.errors import DaemonError, SettingsError
from uidt.home.lock import HomeLock
from uidt.home.paths import Paths, resolve_paths
from uidt.settings import Settings, check_web_address
from uidt.timing import mark

if TYPE_CHECKING:
    import asyncio

    from uidt.daemon.about import DaemonAbout
    from uidt.daemon.leases import LeaseKeeper
    from uidt.daemon.runtime import Runtime
    from uidt.daemon.systemd import Handoff
    from uidt.host.prestart import StartedWorker
    from uidt.packages.manifest import Manifest
    from uidt.store.base import JobStore
    from uidt.store.writer import StoreWriter
    from uidt.web.server import WebServer

log = logging.getLogger("uidt.daemon")


@dataclass
class PrestartedWorker:
    """A worker started at boot, before the app host exists (handed to it by ``adopt``)."""

    manifest: Manifest
    process: StartedWorker
    sock: socket.socket


@dataclass
class DaemonOptions:
    paths: Paths
    store_url: str | None = None
    device: str = "auto"
    web: str | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    foreground: bool = True
    #: Built-in apps whose worker starts at once (the CLI asks for it when it autostarts the
    #: daemon for ``uidt download``/``upload``); unused, it idles out after
    #: ``worker_idle_timeout_ms``.
    prestart: tuple[str, ...] = ()


def parse_sets(values: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``--set NAME=VALUE`` options as a dict.

    Raises:
        SettingsError: an item is not ``NAME=VALUE``.
    """
    overrides: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SettingsError(f"--set takes NAME=VALUE, not {item!r}")
        overrides[name.strip()] = value.strip()
    return overrides


def check_web(web: str) -> None:
    """Refuse a ``--web`` value that is not ``HOST:PORT`` with a loopback host.

    Raises:
        SettingsError: it is not (the message says why).
    """
    try:
        check_web_address(web)
    except ValueError as exc:
        raise SettingsError(f"--web: {exc}") from None


def load_settings(paths: Paths, overrides: dict[str, str], web: str | None = None) -> Settings:
    """The settings from ``config.toml``, ``UIDT_*`` and ``--set``; ``--web`` is ``--set web=``.

    Raises:
        SettingsError: a name is unknown or a value unusable.
    """
    config = paths.config_file if paths.config_file.exists() else None
    if web is not None:
        overrides = {**overrides, "web": web}
    return Settings.from_sources(config, os.environ, overrides)


def run(options: DaemonOptions) -> None:
    """Run the daemon until SIGTERM/SIGINT or an API shutdown request; then stop gracefully.

    Raises:
        DaemonError: another daemon holds the home.
        UidtError: the settings or the store are unusable.
    """
    mark("daemon.run")
    paths = options.paths
    paths.ensure()
    settings = load_settings(paths, options.overrides, options.web)
    setup_logging(
        paths.log_dir, foreground=options.foreground, json_lines=settings.log_format == "json"
    )
    with HomeLock(paths.lock):
        mark("daemon.locked")
        from uidt.daemon.systemd import Handoff

        handoff = Handoff.take(paths.socket)  # systemd's socket, before any child is started
        apps = workers_to_prestart(options, warm=settings.warm_worker)
        prestarted = prestart_workers(apps, paths.log_dir, settings, worker_env(paths))
        mark("daemon.prestarted")
        try:
            import asyncio  # only now: the prestarted workers boot meanwhile

            mark("daemon.asyncio")
            asyncio.run(_open_and_serve(options, settings, prestarted, handoff))
        finally:
            if handoff.listener is not None:
                handoff.listener.close()
            for worker in prestarted:  # not adopted: start-up failed before the app host existed
                worker.process.kill()
                worker.sock.close()
                with contextlib.suppress(Exception):
                    worker.process.wait_blocking()


async def _open_and_serve(
    options: DaemonOptions,
    settings: Settings,
    prestarted: list[PrestartedWorker],
    handoff: Handoff,
) -> None:
    from uidt.daemon.corestart import load_core, open_while_loading
    from uidt.store.url import open_store
    from uidt.store.writer import StoreWriter

    paths = options.paths

    def open_it() -> JobStore:
        return open_store(
            options.store_url or f"sqlite:///{paths.store}",
            paths.data_dir,
            host_id=settings.host_id,
            lease_ms=settings.lease_ms,
            host_labels=settings.host_labels,
        )

    # A new store waits for the disk, the core's imports for the CPU: both at once.
    store = await open_while_loading(open_it, load_core)
    try:
        writer = StoreWriter(store)  # store writes leave the loop (uidt.store.writer)
    except BaseException:
        store.close()
        raise
    mark("daemon.store_open")
    try:
        await _serve(options, settings, writer, prestarted, handoff)
    finally:
        # commits every write still queued, gives a shared store's leases back, closes the store
        writer.close(release_leases=True)


def workers_to_prestart(options: DaemonOptions, *, warm: bool = False) -> tuple[str, ...]:
    """The apps whose worker starts before the core loads: asked for, needed by the store, warm.

    Besides the apps of ``--prestart``, every built-in app with a persisted job: after a kill, a
    crash, a reboot or a socket activation the daemon is about to run those jobs again, and their
    worker (interpreter, imports, the service module) then boots while the daemon loads instead
    of after it. With ``warm`` (the ``warm_worker`` setting) the built-in transfer app's worker
    boots in any case: the first ``uidt download`` sent to this daemon then finds it ready
    instead of waiting for a process to start. Whether and when a job runs is still the core's
    decision; a worker it does not use idles out after ``worker_idle_timeout_ms``. Installed apps
    keep starting on their first bind (their code runs only when the system runs one of their
    jobs).
    """
    from uidt.daemon.builtin import builtin_manifests
    from uidt.transfers.names import TRANSFERS_APP

    warmed = (TRANSFERS_APP,) if warm else ()
    packages = [m.package for m in builtin_manifests()]
    if set(packages) <= {*options.prestart, *warmed}:  # all start anyway: no need to look
        return tuple(dict.fromkeys((*options.prestart, *warmed)))
    from uidt.store import peek  # sqlite3: only when there is something to look for

    paths = options.paths
    url = options.store_url or f"sqlite:///{paths.store}"
    waiting = peek.apps_with_persisted_jobs(url, paths.data_dir)
    builtin = [package for package in packages if package in waiting]
    return tuple(dict.fromkeys((*options.prestart, *builtin, *warmed)))


def worker_env(paths: Paths) -> dict[str, str]:
    """What the daemon adds to its workers' environment: ``UIDT_HOME`` when it runs for one
    ``--home`` folder, so that an app's code there (a notification receiver scheduling a job)
    reaches this daemon as the app's own processes do."""
    return {"UIDT_HOME": str(paths.data_dir)} if resolve_paths(paths.data_dir) == paths else {}


def prestart_workers(
    apps: tuple[str, ...],
    log_dir: Path,
    settings: Settings,
    extra_env: dict[str, str] | None = None,
) -> list[PrestartedWorker]:
    """Start the worker of each named built-in app now; unknown names are logged and skipped."""
    if not apps:
        return []
    from uidt.daemon.builtin import builtin_manifests
    from uidt.host.prestart import start_worker

    manifests = {m.package: m for m in builtin_manifests()}
    started: list[PrestartedWorker] = []
    for app in dict.fromkeys(apps):
        manifest = manifests.get(app)
        if manifest is None:
            log.warning("--prestart %s: only built-in apps can be prestarted", app)
            continue
        try:
            idle_s = settings.worker_idle_timeout_ms / 1000
            process, sock = start_worker(manifest, log_dir, idle_s, extra_env)
        except OSError as exc:
            log.warning("could not prestart the worker of %s: %s", app, exc)
            continue
        started.append(PrestartedWorker(manifest, process, sock))
    return started


async def _serve(
    options: DaemonOptions,
    settings: Settings,
    store: StoreWriter,
    prestarted: list[PrestartedWorker],
    handoff: Handoff,
) -> None:
    # The heavy imports, after the lock and the prestarted workers (see the module docstring).
    import asyncio

    import psutil

    from uidt.clock import SystemClock
    from uidt.daemon.api import create_api
    from uidt.daemon.bandwidth_limit import follow_timetable
    from uidt.daemon.builtin import install_builtin_apps
    from uidt.daemon.jobwatch import JobLog, JobObserver, follow
    from uidt.daemon.lowmemory import LowMemoryKiller
    from uidt.daemon.runtime import Runtime
    from uidt.device.auto import create_device_source
    from uidt.device.override import OverrideDeviceSource
    from uidt.host.apphost import AppHost
    from uidt.host.launcher import SubprocessLauncher
    from uidt.server.service import JobSchedulerService

    paths = options.paths
    clock = SystemClock()
    root = os.environ.get(
        "UIDT_DEVICE_ROOT"
    )  # testing aid: read /sys and /proc from a fixture tree
    source = create_device_source(
        options.device,  # type: ignore[arg-type]
        paths.data_dir,
        root=Path(root) if root else None,
    )
    device = OverrideDeviceSource(source)
    service = JobSchedulerService(
        clock=clock,
        settings=settings,
        device=device.snapshot(),
        installed_memory_bytes=psutil.virtual_memory().total,
    )
    runtime = Runtime(service=service, store=store, host=None, device=device, clock=clock)
    host = AppHost(
        runtime.on_host_event,
        launcher=SubprocessLauncher(paths.log_dir, extra_env=worker_env(paths)),
        log_dir=paths.log_dir,
        idle_timeout_s=settings.worker_idle_timeout_ms / 1000,
    )
    runtime.host = host
    while prestarted:  # the host owns them from here on
        worker = prestarted.pop()
        host.adopt(worker.manifest, worker.process, worker.sock)
    runtime.low_memory = LowMemoryKiller(elapsed=clock.elapsed, pid_of=host.pid_of)
    mark("daemon.imported")
    install_builtin_apps(runtime)
    # before the load: the runs it starts carry their leases (the transfers' fences)
    keeper = _keep_leases(runtime, store, asyncio.get_running_loop())
    runtime.load()
    mark("daemon.loaded")

    # The page before the socket: a page that cannot be served fails the start, and a client
    # waiting for the socket sees the daemon exit with the reason rather than a daemon without it.
    page = await _serve_page(runtime, settings)
    try:
        metrics = None
        if settings.metrics is not None:  # prometheus_client is imported only then
            from uidt.daemon.metrics import open_endpoint

            metrics = open_endpoint(settings.metrics)
            metrics.metrics.watch_store(store)
    except BaseException:
        if page is not None:
            await page.close()
        raise
    runtime.about = _about(options, settings, None if page is None else page.url)
    if metrics is not None:
        runtime.about = dataclasses.replace(runtime.about, metrics_url=metrics.url)
    api = create_api(runtime)
    sock_path = paths.socket
    try:
        await api.start(handoff.listener or _listen(sock_path))
    except BaseException:
        if page is not None:
            await page.close()
        if metrics is not None:
            metrics.close()
        raise
    _write_pid(paths.pid_file)
    mark("daemon.serving")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runtime.shutdown.request)
    log.info(
        "uidt daemon %d serving %s%s",
        os.getpid(),
        sock_path,
        " (socket passed by the service manager)" if handoff.listener else "",
    )
    handoff.manager.notify(f"READY=1\nMAINPID={os.getpid()}\nSTATUS=serving {sock_path}")
    notifier = None
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):  # D-Bus only where a session bus exists
        from uidt.notify.desktop import DesktopNotifier

        notifier = await DesktopNotifier.connect(on_action=runtime.on_notification_action)
    if notifier is not None:
        runtime.notification_sinks.append(notifier)
    try:
        async with asyncio.TaskGroup() as group:
            runtime.task_group = group
            background = [
                group.create_task(runtime.run_timers()),
                group.create_task(follow_timetable(runtime.bandwidth_limit)),
                group.create_task(device.run()),
                group.create_task(runtime.watch_memory()),
                group.create_task(handoff.manager.run_watchdog()),
            ]
            if notifier is not None:
                background.append(group.create_task(notifier.run()))
            if keeper is not None:
                background.append(group.create_task(keeper.run()))
            watchers: list[JobObserver] = [JobLog()]  # job start/stop lines in the log
            if metrics is not None:
                watchers.append(metrics.metrics)
            background.append(
                group.create_task(follow(runtime, watchers, lambda: clock.elapsed() / 1000))
            )
            await runtime.shutdown.wait_requested()
            handoff.manager.notify("STOPPING=1")
            log.info("shutting down: stopping running jobs")
            await runtime.shutdown.stop_running_jobs(settings.op_timeout_ms / 1000)
            await runtime.cancel_host_operations()
            await host.close()
            for task in background:
                task.cancel()
    finally:
        if notifier is not None:
            await notifier.aclose()
        if page is not None:
            await page.close()
        if metrics is not None:
            metrics.close()
        await api.close()
        # A passed socket's file is the manager's: it keeps listening there for the next start.
        _remove_files(*(() if handoff.owns_socket_path else (sock_path,)), paths.pid_file)
        log.info("uidt daemon stopped")


def _keep_leases(
    runtime: Runtime, writer: StoreWriter, loop: asyncio.AbstractEventLoop
) -> LeaseKeeper | None:
    """On a shared store, a :class:`~uidt.daemon.leases.LeaseKeeper` wired to the core."""
    from uidt.daemon.fleet import FleetDesk
    from uidt.daemon.leases import LeaseKeeper
    from uidt.server.events import LeaseLost
    from uidt.store.base import LeasingJobStore
    from uidt.store.fleet import HasFleet

    if not isinstance(writer.store, LeasingJobStore):
        return None
    from uidt.store.pg_wake import WakeListener  # only PostgreSQL's store leases

    url = getattr(writer.store, "url", None)
    keeper = LeaseKeeper(
        writer.store,
        lambda key: runtime.apply(LeaseLost(key)),
        on_claimed=runtime.adopt,
        writer=writer,
        wakes=WakeListener(url) if isinstance(url, str) else None,
        settle_writes=writer.sync,
    )
    writer.lease_lost = keeper.lost_from_thread(loop)
    if isinstance(writer.store, HasFleet):
        runtime.fleet = FleetDesk(runtime, writer.store.fleet)
        keeper.after_tick.append(runtime.fleet.tick)
        keeper.on_stop_request = runtime.fleet.stop_requested  # heard at once, not at a tick
    runtime.run_tagger = keeper.tag_run
    log.info(
        "shared store: this host is %s, leases of %d s, labels %s",
        writer.store.host_id,
        writer.store.lease_ms // 1000,
        ",".join(runtime.service.settings.host_labels) or "none",
    )
    return keeper


async def _serve_page(runtime: Runtime, settings: Settings) -> WebServer | None:
    """The Task Manager page on ``web`` (``HOST:PORT``), or ``None`` when the setting is unset.

    Raises:
        DaemonError: the address cannot be bound (e.g. the port is taken).
    """
    web = settings.web
    if web is None:
        return None
    from uidt.web.server import serve_web  # Starlette and uvicorn only when asked for

    host, _, port = web.rpartition(":")
    try:
        page = await serve_web(
            runtime,
            host,
            int(port),
            header_timeout=settings.http_header_timeout_ms / 1000,
            idle_timeout=settings.http_idle_timeout_ms / 1000,
            max_connections=settings.web_max_connections,
        )
    except OSError as exc:
        raise DaemonError(
            f"cannot serve the Task Manager page on {web}: {exc.strerror or exc}"
        ) from exc
    log.info("Task Manager on %s (run `uidt ui` for a login link)", page.url)
    return page


def _about(options: DaemonOptions, settings: Settings, web_url: str | None) -> DaemonAbout:
    from uidt.daemon.about import DaemonAbout, redact_url

    paths = options.paths
    return DaemonAbout(
        pid=os.getpid(),
        home=str(paths.data_dir),
        socket=str(paths.socket),
        store=redact_url(options.store_url or f"sqlite:///{paths.store}"),
        device=options.device,
        web_address=settings.web,
        web_url=web_url,
        options={
            "store": options.store_url,
            "device": options.device,
            "web": options.web,
            "sets": dict(options.overrides),
        },
    )


def _listen(path: Path) -> socket.socket:
    """The control socket at ``path`` (a stale one replaced), private to the user, listening."""
    if path.exists() or path.is_symlink():
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _write_pid(path: Path) -> None:
    path.write_text(f"{os.getpid()}\n")


def _remove_files(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)

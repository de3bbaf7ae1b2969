"""The serving half of ``uidt daemon``: the core, app host, API and tasks, until it stops.

:mod:`uidt.daemon.main` takes the home lock, prestarts the workers and opens the store (the
start-up half); :func:`serve` then builds the runtime around that store, answers the control
socket and runs the daemon's tasks until a stop is asked for. Imported only once the store is
open (it pulls in asyncio and the heavy parts; their imports stay inside the functions, see
:mod:`uidt.daemon.main`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from uidt.daemon.main import DaemonOptions, PrestartedWorker, worker_env
from uidt.errors import DaemonError
from uidt.settings import Settings
from uidt.timing import mark

if TYPE_CHECKING:
    import asyncio

    from uidt.daemon.about import DaemonAbout
    from uidt.daemon.leases import LeaseKeeper
    from uidt.daemon.runtime import Runtime
    from uidt.daemon.systemd import Handoff
    from uidt.store.base import OfferingStore
    from uidt.store.writer import StoreWriter
    from uidt.web.server import WebServer

log = logging.getLogger("uidt.daemon")


async def serve(
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
    keeper = keep_leases(runtime, store, asyncio.get_running_loop())
    runtime.load()
    mark("daemon.loaded")

    # The page before the socket: a page that cannot be served fails the start, and a client
    # waiting for the socket sees the daemon exit with the reason rather than a daemon without it.
    page = await serve_page(runtime, settings)
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
    runtime.about = about(options, settings, None if page is None else page.url)
    if metrics is not None:
        runtime.about = dataclasses.replace(runtime.about, metrics_url=metrics.url)
    api = create_api(runtime)
    sock_path = paths.socket
    try:
        await api.start(handoff.listener or listen_control(sock_path))
    except BaseException:
        if page is not None:
            await page.close()
        if metrics is not None:
            metrics.close()
        raise
    write_pid(paths.pid_file)
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
        remove_files(*(() if handoff.owns_socket_path else (sock_path,)), paths.pid_file)
        log.info("uidt daemon stopped")


def keep_leases(
    runtime: Runtime, writer: StoreWriter, loop: asyncio.AbstractEventLoop
) -> LeaseKeeper | None:
    """On a shared store, a :class:`~uidt.daemon.leases.LeaseKeeper` wired to the core."""
    from uidt.daemon.fleet import FleetDesk
    from uidt.daemon.leases import LeaseKeeper
    from uidt.server.events import LeaseLost
    from uidt.store.base import HasOffering, LeasingJobStore
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
        wakes=WakeListener(url, lease_ms=writer.store.lease_ms) if isinstance(url, str) else None,
        settle_writes=writer.sync,
    )
    writer.lease_lost = keeper.lost_from_thread(loop)
    if isinstance(writer.store, HasFleet):
        runtime.fleet = FleetDesk(runtime, writer.store.fleet)
        keeper.after_tick.append(runtime.fleet.tick)
        keeper.on_stop_request = runtime.fleet.stop_requested  # heard at once, not at a tick
    if isinstance(writer.store, HasOffering):
        offer_to_fleet(runtime, keeper, writer.store.offering)
    runtime.run_tagger = keeper.tag_run
    log.info(
        "shared store: this host is %s, leases of %d s, labels %s",
        writer.store.host_id,
        writer.store.lease_ms // 1000,
        ",".join(runtime.service.settings.host_labels) or "none",
    )
    return keeper


def offer_to_fleet(runtime: Runtime, keeper: LeaseKeeper, store: OfferingStore) -> None:
    """Wire :class:`~uidt.daemon.offers.FleetOffers` between the core, the store and the keeper:
    this host offers what it cannot start now, claims only what it can, and looks for claimable
    jobs as soon as its readings change (docs/fleet.md, "Offering a job to the fleet")."""
    from uidt.daemon.offers import FleetOffers
    from uidt.server.events import LeaseLost

    queries = runtime.service.queries
    offers = FleetOffers(
        store,
        decide=queries.fleet_offers,
        choose=queries.startable,
        capacity=queries.free_slots,
        device_seq=lambda: runtime.device_seq,
        settle_writes=runtime.store.sync,
        gave_back=keeper.gave_back,
        lost=lambda key: runtime.apply(LeaseLost(key)),
    )
    keeper.offers = offers
    keeper.watchers.append(lambda: claim_when_slots_free(runtime, keeper))
    runtime.fleet_offers = offers
    runtime.device.add_listener(lambda _state: _claim_on_loop(keeper))


async def claim_when_slots_free(runtime: Runtime, keeper: LeaseKeeper) -> None:
    """Claim as soon as this host has more free slots than after the last flush (a run
    ended): jobs other hosts offered while it was full wait no longer than that, not until
    its next tick."""
    free = runtime.service.queries.free_slots
    before = free()
    while True:
        await runtime.changes.wait(runtime.changes.version, 3600.0)
        now = free()
        if now > before:
            keeper.claim_now()
        before = now


def _claim_on_loop(keeper: LeaseKeeper) -> None:
    """Claim now, when called on the event loop (device sources tell their listeners there)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    keeper.claim_now()


async def serve_page(runtime: Runtime, settings: Settings) -> WebServer | None:
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


def about(options: DaemonOptions, settings: Settings, web_url: str | None) -> DaemonAbout:
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


def listen_control(path: Path) -> socket.socket:
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


def write_pid(path: Path) -> None:
    path.write_text(f"{os.getpid()}\n")


def remove_files(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)

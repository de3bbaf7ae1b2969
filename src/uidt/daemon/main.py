"""``uidt daemon``: wires the core, store, device source, app host and API into one task group."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from aiohttp import web

from uidt.clock import SystemClock
from uidt.daemon.api import create_api
from uidt.daemon.builtin import install_builtin_apps
from uidt.daemon.lock import HomeLock
from uidt.daemon.logs import setup_logging
from uidt.daemon.lowmemory import LowMemoryKiller
from uidt.daemon.paths import Paths
from uidt.daemon.runtime import Runtime
from uidt.device.auto import create_device_source
from uidt.device.override import OverrideDeviceSource
from uidt.host.apphost import AppHost
from uidt.server.service import JobSchedulerService
from uidt.settings import Settings
from uidt.store.url import open_store

log = logging.getLogger("uidt.daemon")


@dataclass
class DaemonOptions:
    paths: Paths
    store_url: str | None = None
    device: str = "auto"
    web: str | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    foreground: bool = True


def load_settings(paths: Paths, overrides: dict[str, str]) -> Settings:
    config = paths.config_file if paths.config_file.exists() else None
    return Settings.from_sources(config, os.environ, overrides)


async def run_daemon(options: DaemonOptions) -> None:
    """Run until SIGTERM/SIGINT or an API shutdown request; then stop gracefully."""
    paths = options.paths
    paths.ensure()
    setup_logging(paths.log_dir, foreground=options.foreground)
    settings = load_settings(paths, options.overrides)
    with HomeLock(paths.lock):
        store = open_store(options.store_url or f"sqlite:///{paths.store}", paths.data_dir)
        try:
            await _serve(options, settings, store)
        finally:
            store.close()


async def _serve(options: DaemonOptions, settings: Settings, store: object) -> None:
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
    runtime = Runtime(service=service, store=store, host=None, device=device, clock=clock)  # type: ignore[arg-type]
    host = AppHost(
        runtime,
        log_dir=paths.log_dir,
        idle_timeout_s=settings.worker_idle_timeout_ms / 1000,
    )
    runtime.host = host
    runtime.low_memory = LowMemoryKiller(elapsed=clock.elapsed, pid_of=host.pid_of)
    install_builtin_apps(runtime)
    runtime.load()

    api = web.AppRunner(create_api(runtime), access_log=None, handle_signals=False)
    await api.setup()
    sock_path = paths.socket
    if sock_path.exists() or sock_path.is_symlink():
        sock_path.unlink()
    old_umask = os.umask(0o177)
    try:
        site = web.UnixSite(api, str(sock_path))
        await site.start()
    finally:
        os.umask(old_umask)
    os.chmod(sock_path, 0o600)
    _write_pid(paths.pid_file)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runtime.request_shutdown)
    log.info("uidt daemon %d serving %s", os.getpid(), sock_path)
    page = None
    if options.web:
        from uidt.web.server import serve_web  # Starlette and uvicorn only when asked for

        web_host, _, web_port = options.web.rpartition(":")
        page = await serve_web(runtime, web_host or "127.0.0.1", int(web_port or 0))
        log.info("Task Manager on %s (run `uidt ui` for a login link)", page.url)
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
                group.create_task(device.run()),
                group.create_task(runtime.watch_memory()),
            ]
            if notifier is not None:
                background.append(group.create_task(notifier.run()))
            await runtime.wait_shutdown()
            log.info("shutting down: stopping running jobs")
            await runtime.graceful_stop(settings.op_timeout_ms / 1000)
            await runtime.cancel_host_operations()
            await host.close()
            for task in background:
                task.cancel()
    finally:
        if notifier is not None:
            await notifier.aclose()
        if page is not None:
            await page.close()
        await api.cleanup()
        _remove_files(sock_path, paths.pid_file)
        log.info("uidt daemon stopped")


def _write_pid(path: Path) -> None:
    path.write_text(f"{os.getpid()}\n")


def _remove_files(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)

"""``uidt daemon``: wires the core, store, device source, app host and API into one task group.

Start-up order (cold start matters: ``uidt download --wait`` waits for all of it, and so does a
restarted daemon's first resumed byte): take the home lock, start the workers asked for with
``--prestart`` and those of the built-in apps with persisted jobs (:func:`workers_to_prestart`;
they boot in parallel with the rest), and only then import asyncio and the heavy parts (the core,
the device readers, the store), open the store, load the persisted jobs and answer the socket.
Those imports therefore live inside the functions that need them.

This module is the start-up half (options, settings, the lock, the prestarted workers, the
store); the serving half — the core, the app host, the API and the tasks that run until the
daemon stops — is :mod:`uidt.daemon.serving`, imported once the store is open.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from uidt.daemon.logs import setup_logging
from uidt.errors import SettingsError
from uidt.home.lock import HomeLock
from uidt.home.paths import Paths, resolve_paths
from uidt.settings import Settings, check_web_address
from uidt.timing import mark

if TYPE_CHECKING:
    from uidt.daemon.systemd import Handoff
    from uidt.host.prestart import StartedWorker
    from uidt.packages.manifest import Manifest
    from uidt.store.base import JobStore

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
    from uidt.daemon.serving import serve  # the serving half, after the store is open

    try:
        await serve(options, settings, writer, prestarted, handoff)
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

"""A built-in app's worker booted before a job needs it: ``POST /v1/apps/{app}/warm``.

``uidt download`` and ``uidt upload`` send this request at the very start of the command line
(:mod:`uidt.cli.launch`), before they load click and build the job, so that a daemon whose
transfer worker has idled out boots a new one while the command line is still importing: the
job then starts in a worker that is ready, or nearly so, instead of one started when the job
is bound. The worker is the one ``--prestart`` and the ``warm_worker`` setting start (same
command line, log, process group), adopted by the app host: idle, no job's run (the core
does not know of it until it binds the app), gone after ``worker_idle_timeout_ms`` without a
job, killed with the daemon.

Only built-in apps: an installed app's code runs only when the system runs one of its jobs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from uidt.daemon.builtin import builtin_manifests
from uidt.errors import InvalidJobError

if TYPE_CHECKING:
    from uidt.daemon.runtime import Runtime

log = logging.getLogger("uidt.daemon")


def warm(runtime: Runtime, app: str) -> bool:
    """Boot ``app``'s worker now unless it has one; whether a worker was started.

    Nothing is started with ``warm_worker`` off, while the daemon stops, or when the app's
    worker runs, starts or is being adopted already (so a flood of requests starts one worker).

    Raises:
        InvalidJobError: the app is not installed, or not a built-in app.
    """
    runtime.apps.require(app)
    if app not in {m.package for m in builtin_manifests()}:
        raise InvalidJobError(f"{app} is not a built-in app: its worker starts only for its jobs")
    manifest = runtime.apps.get(app)
    host = runtime.host
    settings = runtime.service.settings
    if manifest is None or not settings.warm_worker or runtime.shutdown.under_way:
        return False
    if host.closed() or host.has_worker(app):
        return False
    from uidt.host.prestart import start_worker

    try:
        process, sock = start_worker(manifest, host.log_dir, settings.worker_idle_timeout_ms / 1000)
    except OSError as exc:
        log.warning("could not warm the worker of %s: %s", app, exc)
        return False
    host.adopt(manifest, process, sock)
    return True

"""The daemon's core loads while its store opens: CPU on one thread, the disk's wait on another.

Between the prestarted workers and the socket (:mod:`uidt.daemon.main`) the daemon does two
things of different kinds: it opens the job store, which for a new store is mostly waiting for
the disk (the schema's commit and its fsyncs: 20-70 ms here, under 3 ms for an existing store),
and it imports the core, the device readers, the app host and the control API, which is all CPU
(~0.1-0.2 s). :func:`open_while_loading` overlaps them: the store opens on a thread (SQLite
releases the GIL while it waits) while :func:`load_core` imports on the loop's thread, before
anything else runs there.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Callable
from typing import Protocol, TypeVar

#: What ``uidt.daemon.serving.serve`` imports before the socket answers (its own imports stay
#: where they are; these only load them sooner). The Task Manager page and the metrics endpoint
#: are not among them: they load only when asked for.
CORE_MODULES = (
    "psutil",
    "uidt.clock",
    "uidt.daemon.api",
    "uidt.daemon.bandwidth_limit",
    "uidt.daemon.builtin",
    "uidt.daemon.jobwatch",
    "uidt.daemon.lowmemory",
    "uidt.daemon.serving",
    "uidt.daemon.runtime",
    "uidt.device.auto",
    "uidt.device.override",
    "uidt.host.apphost",
    "uidt.host.launcher",
    "uidt.server.service",
)


class _Closable(Protocol):
    def close(self) -> None: ...


StoreT = TypeVar("StoreT", bound=_Closable)


def load_core() -> None:
    """Import :data:`CORE_MODULES`."""
    for name in CORE_MODULES:
        importlib.import_module(name)


async def open_while_loading(open_store: Callable[[], StoreT], load: Callable[[], None]) -> StoreT:
    """``open_store()`` on a thread while ``load()`` runs here; the store, once both are done.

    Raises:
        Exception: what ``open_store`` raised (the store could not be opened), else what
            ``load`` raised (the store is closed first).
    """
    opening = asyncio.get_running_loop().run_in_executor(None, open_store)
    try:
        load()
    except BaseException:
        with contextlib.suppress(Exception):  # the load's error is the one to report
            (await opening).close()
        raise
    return await opening

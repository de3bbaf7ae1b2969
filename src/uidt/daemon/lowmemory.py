"""The low-memory killer: at CRITICAL memory pressure, kill app workers, largest first.

As Android's lmkd, it gives the app no ``on_stop_job``; the scheduler reschedules the jobs (a
system stop). One victim per ``interval_ms`` while the pressure stays critical, so that the
kernel gets a chance to reclaim before the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import psutil

from uidt.device.state import DeviceState, MemoryPressure

log = logging.getLogger("uidt.daemon")

#: Minimum time between two kills while memory stays critical.
DEFAULT_INTERVAL_MS = 5_000


def tree_rss(pid: int) -> int:
    """Resident memory of a process and its descendants, in bytes (0 if it is gone)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


class LowMemoryKiller:
    """Chooses victims; the caller kills them through the scheduler core."""

    def __init__(
        self,
        *,
        elapsed: Callable[[], int],
        pid_of: Callable[[str], int | None],
        rss_of: Callable[[int], int] = tree_rss,
        interval_ms: int = DEFAULT_INTERVAL_MS,
    ) -> None:
        self._elapsed = elapsed
        self._pid_of = pid_of
        self._rss_of = rss_of
        self._interval_ms = interval_ms
        self._last_kill: int | None = None

    def victim(self, state: DeviceState, apps: Iterable[str]) -> str | None:
        """The app to kill now, or ``None`` (pressure not critical, nothing to kill, too soon)."""
        if state.memory < MemoryPressure.CRITICAL:
            return None
        now = self._elapsed()
        if self._last_kill is not None and now - self._last_kill < self._interval_ms:
            return None
        sizes = []
        for app in apps:
            pid = self._pid_of(app)
            if pid is not None:
                sizes.append((self._rss_of(pid), app))
        if not sizes:
            return None
        rss, app = max(sizes)
        self._last_kill = now
        log.warning("memory pressure critical: killing %s (%d MiB resident)", app, rss >> 20)
        return app

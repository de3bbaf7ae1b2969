"""What uidt's daemon is told about its device: metered (from the trace), the link (from the kernel).

The daemon runs with the fake device, so it knows only what it is told with
``uidt cmd device set``: that the network is metered, when the trace says so, and that the
network is gone or back, when the lane's link goes down or up (read from the kernel by
:class:`bench.badday.linkwatch.LinkWatcher`). A daemon started again (after a kill or a reboot)
starts with the fake device's defaults and is told both again at once, as a real source would
read them at its start.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable

from bench.badday.linkwatch import NETWORK_DOWN, NETWORK_UP, LinkWatcher


class DaemonDevice:
    """Tells the lane's daemon what its device reads; records when.

    Args:
        set_device: runs ``uidt cmd device set ARG`` against the lane's home.
        serves: whether the harness's daemon is up (only then may it be told: a ``uidt``
            command that finds no daemon would start one of its own, with the real device).
        read_link: reads the lane's link from the kernel (``True``: usable; ``None``: unread).
        now: seconds since the client started.
        notes: where failures are written, for the report.
    """

    def __init__(
        self,
        set_device: Callable[[str], subprocess.CompletedProcess[str]],
        serves: Callable[[], bool],
        read_link: Callable[[], bool | None],
        now: Callable[[], float],
        notes: list[str],
    ) -> None:
        self._set = set_device
        self._serves = serves
        self._read_link = read_link
        self._now = now
        self._notes = notes
        #: Held while the daemon is told something; the harness holds it too while it kills or
        #: starts the daemon, so that nothing is told to a daemon that is going or coming.
        self.lock = threading.RLock()
        self.metered = False
        #: When the daemon was told metered=true / false (seconds since the client started).
        self.metered_told: list[tuple[float, bool]] = []
        #: When the daemon was told the link is up (True) / down (False).
        self.link_told: list[tuple[float, bool]] = []
        self.watcher = LinkWatcher(read_link, self.tell_link)

    def set_metered(self, metered: bool) -> None:
        with self.lock:
            self.metered = metered
            if not self._serves():
                return
            value = "true" if metered else "false"
            result = self._set(f"metered={value}")
            self.metered_told.append((self._now(), metered))
            if result.returncode != 0:
                self._notes.append(f"device set metered={value} failed: {result.stderr.strip()}")

    def tell_link(self, up: bool) -> bool:
        """Tell the daemon the link is up / down; whether it was told."""
        with self.lock:
            if not self._serves():
                return False
            result = self._set(NETWORK_UP if up else NETWORK_DOWN)
            if result.returncode != 0:
                self._notes.append(f"device set network failed: {result.stderr.strip()}")
                return False
            self.link_told.append((self._now(), up))
            return True

    def tell_new_daemon(self) -> None:
        """A daemon that has just started: tell it what differs from the fake device's defaults."""
        with self.lock:
            if self.metered:
                self.set_metered(True)
            up = self._read_link()
            if up is False and self.tell_link(False):
                self.watcher.told_up = False
            else:
                self.watcher.told_up = True  # the fake device's default; the watcher corrects it

    def start_watching(self) -> None:
        self.watcher.start()

    def stop_watching(self) -> None:
        self.watcher.stop()

"""What uidt's daemon is told about its device: metered (from the trace), the link (from the kernel).

The daemon runs with the fake device, so it knows only what it is told with
``uidt cmd device set``: that the network is metered, when the trace says so, and that the
network is gone or back, when the lane's link goes down or up (read from the kernel by
:class:`bench.badday.linkwatch.LinkWatcher`). A daemon started again (after a kill or a reboot)
starts with the fake device's defaults and is told both again at once, as a real source would
read them at its start.

The harness tells it from its own process, over the daemon's socket (:func:`device_set`, the
request ``uidt cmd device set`` makes), so that the telling costs no Python start (up to a
second on a loaded machine): a real source's news reaches its daemon at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.badday.linkwatch import NETWORK_DOWN, NETWORK_UP, LinkMonitor, LinkWatcher
from uidt.app.connection import DaemonConnection
from uidt.errors import UidtError
from uidt.home.paths import resolve_paths


def daemon_request(
    home: Path, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
) -> Any:
    """One request to the daemon of ``home``, from this process; raises a ``UidtError``.

    Never starts a daemon (a ``uidt`` command that finds none would start one of its own,
    with the real device).
    """
    connection = DaemonConnection(resolve_paths(home), autostart=False, timeout=10.0)
    return connection.request(method, path, body=body, query=query)


def device_set(home: Path, arg: str) -> str | None:
    """``uidt --home HOME cmd device set ARG``, from this process: ``None``, or what failed."""
    try:
        data = daemon_request(home, "POST", "/v1/cmd", {"args": ["device", "set", arg]})
    except UidtError as exc:
        return str(exc)
    if not isinstance(data, dict):
        return f"unexpected answer {data!r}"
    if data.get("usage_error") or int(data.get("code", 0)) != 0:
        return str(data.get("stderr") or "").strip() or f"exit code {data.get('code')}"
    return None


class DaemonDevice:
    """Tells the lane's daemon what its device reads; records when.

    Args:
        set_device: ``uidt cmd device set ARG`` against the lane's daemon (:func:`device_set`):
            ``None``, or what failed.
        serves: whether the harness's daemon is up (only then may it be told: a ``uidt``
            command that finds no daemon would start one of its own, with the real device).
        read_link: reads the lane's link from the kernel (``True``: usable; ``None``: unread).
        now: seconds since the client started.
        notes: where failures are written, for the report.
        monitor: reports link events at once (``ip monitor link`` in the lane's namespace);
            without it the link is only polled.
    """

    def __init__(
        self,
        set_device: Callable[[str], str | None],
        serves: Callable[[], bool],
        read_link: Callable[[], bool | None],
        now: Callable[[], float],
        notes: list[str],
        monitor: LinkMonitor | None = None,
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
        self.watcher = LinkWatcher(read_link, self.tell_link, monitor=monitor)

    def set_metered(self, metered: bool) -> None:
        with self.lock:
            self.metered = metered
            if not self._serves():
                return
            value = "true" if metered else "false"
            failed = self._set(f"metered={value}")
            self.metered_told.append((self._now(), metered))
            if failed is not None:
                self._notes.append(f"device set metered={value} failed: {failed}")

    def tell_link(self, up: bool) -> bool:
        """Tell the daemon the link is up / down; whether it was told."""
        with self.lock:
            if not self._serves():
                return False
            failed = self._set(NETWORK_UP if up else NETWORK_DOWN)
            if failed is not None:
                self._notes.append(f"device set network failed: {failed}")
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

"""The link watcher: uidt's daemon is told the lane's real link state, as its real source would see it.

uidt's daemon runs with the fake device in the bench (so that the harness can tell it that the
network is metered), and the client namespace has no default route, so the real source
(``LinuxDeviceSource``) would see no network at all. On a real machine that source reads the
kernel every second, and a link that goes down takes the default network with it: the job stops
for connectivity and starts again, on a fresh connection, when the link is back. The watcher
does the same reading: every :data:`LINK_POLL_S` it reads the client end's ``operstate`` and
``carrier`` inside the client namespace, judges them with the real source's own rule
(:func:`uidt.device.kernel_network.link_is_up`), and on a change tells the daemon
``uidt cmd device set network=none`` (down) or ``network=wifi`` (up: the fake device's own
network, whose metered reading the harness keeps setting apart). It reads the kernel, never the
trace.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable

from uidt.device.kernel_network import link_is_up

#: How often the link is read: the real source's network poll interval.
LINK_POLL_S = 1.0
#: ``uidt cmd device set`` values for a link that is down / up.
NETWORK_DOWN = "network=none"
NETWORK_UP = "network=wifi"


def read_link(namespace: str, interface: str) -> bool | None:
    """Whether ``interface`` in ``namespace`` is usable, read from its ``/sys/class/net`` files.

    ``ip netns exec`` mounts the namespace's own ``/sys``; an unreadable ``carrier`` (a link
    that is administratively down) reads as an empty line. ``None``: the reading itself failed
    (the reader was killed with the lane's processes at a simulated reboot).
    """
    base = f"/sys/class/net/{interface}"
    script = f"cat {base}/operstate 2>/dev/null || echo; cat {base}/carrier 2>/dev/null || echo"
    done = subprocess.run(
        ["ip", "netns", "exec", namespace, "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return None if done.returncode != 0 else parse_link(interface, done.stdout)


def parse_link(interface: str, out: str) -> bool:
    """The usability of a link from two lines: its ``operstate`` and its ``carrier`` (or empty)."""
    lines = [*out.splitlines(), "", ""]
    operstate, carrier = (line.strip() or None for line in lines[:2])
    return link_is_up(interface, operstate, carrier)[0]


class LinkWatcher:
    """Reads the link with ``read`` every ``interval`` seconds; calls ``tell(up)`` on a change.

    The link is taken to be up at the start (the harness brings it up before the run). A
    ``tell`` that fails (the daemon being restarted) is tried again at the next reading, and
    so is a reading that failed (``None``).
    """

    def __init__(
        self,
        read: Callable[[], bool | None],
        tell: Callable[[bool], bool],
        interval: float = LINK_POLL_S,
    ) -> None:
        self._read = read
        self._tell = tell
        self._interval = interval
        self.told_up = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="link-watcher", daemon=True)

    def poll(self) -> None:
        """One reading: tell the daemon if the link is not what it was last told."""
        up = self._read()
        if up is not None and up != self.told_up and self._tell(up):
            self.told_up = up

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.poll()

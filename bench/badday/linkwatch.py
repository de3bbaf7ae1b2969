"""The link watcher: uidt's daemon is told the lane's real link state, as its real source would see it.

uidt's daemon runs with the fake device in the bench (so that the harness can tell it that the
network is metered), and the client namespace has no default route, so the real source
(``LinuxDeviceSource``) would see no network at all. On a real machine that source hears of a
link change at once, from the kernel's rtnetlink notifications, and reads the network
:data:`~uidt.device.netlink.COALESCE_S` later (the rest of the burst coalesced), with a poll
every second as the safety net; a link that goes down takes the default network with it: the
job stops for connectivity and starts again, on a fresh connection, when the link is back.

The watcher plays that source. It learns of a change in the client namespace from
``ip -n NS monitor link`` (:class:`LinkMonitor`: the same rtnetlink notifications, from inside
the namespace), waits the same coalescing delay, and reads the client end's ``operstate`` and
``carrier`` there, judged with the real source's own rule
(:func:`uidt.device.kernel_network.link_is_up`); it still reads every :data:`LINK_POLL_S` (the
real source's poll), which is all that is left while the monitor is down (killed with the
lane's processes at a simulated reboot, until it is started again). On a change it tells the
daemon ``uidt cmd device set network=none`` (down) or ``network=wifi`` (up: the fake device's
own network, whose metered reading the harness keeps setting apart). It reads the kernel, never
the trace. Until the real source followed netlink, the watcher only polled every second, as
that source did, and uidt's bytes flowed again 0.7-0.8 s after a link came back.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Mapping

from uidt.device.kernel_network import link_is_up
from uidt.device.netlink import COALESCE_S

#: How often the link is read at the least: the real source's network poll interval.
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


class LinkMonitor:
    """Runs ``ip -n NAMESPACE monitor link`` and calls ``on_event()`` for each line naming
    ``interface``, and once each time the monitor (re)starts (a change may have been missed
    while none ran).

    A monitor that ends (killed with the lane's processes) is started again; one that ends
    within ``retry_s`` of its start is started again only ``retry_s`` later, so that an ``ip``
    that cannot monitor does not spin.
    """

    def __init__(
        self,
        namespace: str,
        interface: str,
        env: Mapping[str, str] | None = None,
        retry_s: float = LINK_POLL_S,
        argv: list[str] | None = None,
    ) -> None:
        self._argv = argv or ["ip", "-n", namespace, "monitor", "link"]
        self._interface = interface
        self._env = env
        self._retry_s = retry_s
        self._on_event: Callable[[], None] = lambda: None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        #: How many times the monitor was started.
        self.starts = 0
        self._thread = threading.Thread(target=self._loop, name="link-monitor", daemon=True)

    def start(self, on_event: Callable[[], None]) -> None:
        self._on_event = on_event
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._proc is not None:
                self._proc.kill()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._follow()
            if time.monotonic() - started < self._retry_s:
                self._stop.wait(self._retry_s)

    def _follow(self) -> None:
        """One ``ip monitor``, followed until it ends."""
        with self._lock:
            if self._stop.is_set():
                return
            try:
                proc = subprocess.Popen(
                    self._argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                    env=None if self._env is None else dict(self._env),
                )
            except OSError:
                return
            self._proc = proc
            self.starts += 1
        assert proc.stdout is not None
        with proc, proc.stdout:
            self._on_event()
            for line in proc.stdout:
                if self._interface in line:
                    self._on_event()
            proc.kill()
        with self._lock:
            self._proc = None


class LinkWatcher:
    """Reads the link with ``read``; calls ``tell(up)`` on a change.

    It reads every ``interval`` seconds, and ``coalesce`` seconds after ``monitor`` reports an
    event (a burst of events costs one reading). The link is taken to be up at the start (the
    harness brings it up before the run). A ``tell`` that fails (the daemon being restarted) is
    tried again at the next reading, and so is a reading that failed (``None``).
    """

    def __init__(
        self,
        read: Callable[[], bool | None],
        tell: Callable[[bool], bool],
        interval: float = LINK_POLL_S,
        monitor: LinkMonitor | None = None,
        coalesce: float = COALESCE_S,
    ) -> None:
        self._read = read
        self._tell = tell
        self._interval = interval
        self._monitor = monitor
        self._coalesce = coalesce
        self.told_up = True
        self._stop = threading.Event()
        self._nudged = threading.Event()
        #: Readings made, for tests.
        self.readings = 0
        self._thread = threading.Thread(target=self._loop, name="link-watcher", daemon=True)

    def poll(self) -> None:
        """One reading: tell the daemon if the link is not what it was last told."""
        self.readings += 1
        up = self._read()
        if up is not None and up != self.told_up and self._tell(up):
            self.told_up = up

    def nudge(self) -> None:
        """Something happened to the link: read it soon (after the coalescing delay)."""
        self._nudged.set()

    def start(self) -> None:
        self._thread.start()
        if self._monitor is not None:
            self._monitor.start(self.nudge)

    def stop(self) -> None:
        self._stop.set()
        self._nudged.set()
        if self._monitor is not None:
            self._monitor.stop()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            if self._nudged.wait(self._interval) and not self._stop.is_set():
                self._stop.wait(self._coalesce)  # the rest of the burst
            if self._stop.is_set():
                return
            self._nudged.clear()
            self.poll()

"""The link watcher: reads the kernel's link state, tells uidt's daemon each change once."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from bench.badday.linkwatch import LinkMonitor, LinkWatcher, parse_link, read_link
from bench.badday.net import kill_in_namespace


@pytest.mark.parametrize(
    ("out", "up"),
    [
        ("up\n1\n", True),
        ("unknown\n1\n", True),  # a veth whose peer is up may say unknown: usable, as uidt says
        ("down\n\n", False),  # administratively down: carrier unreadable
        ("lowerlayerdown\n0\n", False),  # the other end is down
        ("up\n0\n", False),  # no carrier
        ("\n\n", False),  # the interface is gone
        ("", False),
    ],
)
def test_the_link_is_judged_by_uidts_own_rule(out: str, up: bool) -> None:
    assert parse_link("eth0", out) is up


class Script:
    """Readings to hand out one by one, and what the daemon was told."""

    def __init__(self, readings: list[bool | None], answers: list[bool] | None = None) -> None:
        self.readings = readings
        self.answers = answers or []
        self.told: list[bool] = []

    def read(self) -> bool | None:
        return self.readings.pop(0)

    def tell(self, up: bool) -> bool:
        self.told.append(up)
        return self.answers.pop(0) if self.answers else True


def test_each_change_is_told_once() -> None:
    script = Script([True, False, False, False, True, True])
    watcher = LinkWatcher(script.read, script.tell)
    for _ in range(6):
        watcher.poll()
    assert script.told == [False, True]


def test_a_reading_that_failed_changes_nothing() -> None:
    script = Script([None, False, None, True])
    watcher = LinkWatcher(script.read, script.tell)
    for _ in range(4):
        watcher.poll()
    assert script.told == [False, True]


def test_a_change_the_daemon_did_not_hear_is_told_again() -> None:
    # The daemon was being restarted: the first telling failed.
    script = Script([False, False, False], answers=[False, True])
    watcher = LinkWatcher(script.read, script.tell)
    for _ in range(3):
        watcher.poll()
    assert script.told == [False, False]
    assert watcher.told_up is False


@pytest.fixture
def veth() -> Iterator[tuple[str, str]]:
    """A namespace (named after this process) holding one end of a veth pair that is up."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to create a network namespace")
    name = f"ubdt{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode != 0:
        pytest.skip("network namespaces are not permitted here")
    try:
        for argv in (
            ["ip", "link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b"],
            ["ip", "link", "set", f"{name}b", "netns", name],
            ["ip", "link", "set", f"{name}a", "up"],
            ["ip", "-n", name, "link", "set", f"{name}b", "up"],
        ):
            subprocess.run(argv, check=True, capture_output=True)
        yield name, f"{name}b"
    finally:
        subprocess.run(["ip", "link", "del", f"{name}a"], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def reads(namespace: str, interface: str, expected: bool) -> bool:
    """Whether the link reads ``expected`` within 5 s (the kernel settles operstate lazily)."""
    deadline = time.monotonic() + 5.0
    while read_link(namespace, interface) is not expected:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)  # noqa: TID251 - polling the kernel, bounded
    return True


def test_the_link_is_read_inside_the_namespace(veth: tuple[str, str]) -> None:
    namespace, interface = veth
    assert reads(namespace, interface, True)
    subprocess.run(["ip", "-n", namespace, "link", "set", interface, "down"], check=True)
    assert reads(namespace, interface, False)
    subprocess.run(["ip", "-n", namespace, "link", "set", interface, "up"], check=True)
    assert reads(namespace, interface, True)
    assert read_link(namespace, "nosuchlink0") is False


class Told:
    """What the daemon was told, with an event per telling (for threads)."""

    def __init__(self) -> None:
        self.told: list[bool] = []
        self.heard = threading.Event()

    def tell(self, up: bool) -> bool:
        self.told.append(up)
        self.heard.set()
        return True

    def wait_for(self, told: list[bool]) -> bool:
        """Whether the tellings are ``told`` within 20 s."""
        deadline = time.monotonic() + 20.0
        while self.told != told:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.heard.wait(remaining)
            self.heard.clear()
        return True


def test_a_burst_of_events_is_one_reading_not_a_wait_for_the_poll() -> None:
    """The monitor's events (a hundred, as a link coming back brings several) make one reading,
    after the coalescing delay; the poll is an hour away."""
    script, told = Script([False]), Told()
    watcher = LinkWatcher(script.read, told.tell, interval=3600.0)
    for _ in range(100):
        watcher.nudge()
    watcher.start()
    try:
        assert told.wait_for([False])
    finally:
        watcher.stop()
    assert watcher.readings == 1


def test_the_monitor_reports_its_interface_only() -> None:
    lines = "echo '3: other@if2: <UP>'; echo '4: cif@if3: <NO-CARRIER,UP>'; exec sleep 3600"
    monitor = LinkMonitor("unused", "cif", argv=["sh", "-c", lines])
    events = Events()
    monitor.start(events)
    try:
        assert events.reach(2)  # its start (a change may have been missed before) and cif
        assert not events.more.wait(0.3)
    finally:
        monitor.stop()
    assert (events.count, monitor.starts) == (2, 1)


def test_a_monitor_that_cannot_run_is_not_restarted_in_a_loop() -> None:
    """The hostile ``ip``: it exits at once. It is tried again only after ``retry_s``."""
    monitor = LinkMonitor("unused", "cif", retry_s=3600.0, argv=["false"])
    events = Events()
    monitor.start(events)
    try:
        assert events.reach(1)
        assert not events.more.wait(0.5)
    finally:
        monitor.stop()
    assert monitor.starts == 1


class Events:
    """Counts ``on_event()`` calls."""

    def __init__(self) -> None:
        self.count = 0
        self.more = threading.Event()

    def __call__(self) -> None:
        self.count += 1
        self.more.set()

    def reach(self, count: int) -> bool:
        deadline = time.monotonic() + 20.0
        while self.count < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.more.wait(remaining)
            self.more.clear()
        self.more.clear()
        return True


def test_the_watcher_hears_the_namespace_at_once(veth: tuple[str, str]) -> None:
    """With the poll an hour away, only ``ip monitor link`` can explain the tellings; killed
    with the namespace's processes (a simulated reboot), the monitor is started again."""
    namespace, interface = veth
    told = Told()
    monitor = LinkMonitor(namespace, interface)
    watcher = LinkWatcher(lambda: read_link(namespace, interface), told.tell, 3600.0, monitor)
    watcher.start()
    try:
        assert reads(namespace, interface, True)
        subprocess.run(["ip", "-n", namespace, "link", "set", interface, "down"], check=True)
        assert told.wait_for([False])
        subprocess.run(["ip", "-n", namespace, "link", "set", interface, "up"], check=True)
        assert told.wait_for([False, True])
        kill_in_namespace(namespace)
        subprocess.run(["ip", "-n", namespace, "link", "set", interface, "down"], check=True)
        assert told.wait_for([False, True, False])
        assert monitor.starts >= 2
    finally:
        watcher.stop()

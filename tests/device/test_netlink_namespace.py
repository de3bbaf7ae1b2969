"""The real source in a real network namespace: a link change is read at once, a flood of
address changes costs a bounded number of readings.

Each test makes its own namespace (``uidt-nl-<pid>-<n>``) with a veth pair and a default route,
runs ``netlink_probe.py`` in it and changes the links from outside. The probe polls once an
hour, so a reading that follows a change can only come from the netlink notification.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from uidt.device.netlink import COALESCE_S

PROBE = Path(__file__).with_name("netlink_probe.py")
#: How long a reading may take to arrive on a loaded machine (never a timing claim).
DEADLINE_S = 20.0
_numbers = itertools.count()

Line = dict[str, Any]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def namespace() -> Iterator[str]:
    """A namespace with veth ``nl0``/``nl1`` (both up) and a default route via ``nl0``."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to create a network namespace")
    name = f"uidt-nl-{os.getpid()}-{next(_numbers)}"
    if subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode != 0:
        pytest.skip("network namespaces are not permitted here")
    try:
        _ip("-n", name, "link", "add", "nl0", "type", "veth", "peer", "name", "nl1")
        _ip("-n", name, "addr", "add", "10.77.0.1/24", "dev", "nl0")
        _ip("-n", name, "link", "set", "nl0", "up")
        _ip("-n", name, "link", "set", "nl1", "up")
        _ip("-n", name, "route", "add", "default", "via", "10.77.0.2", "dev", "nl0")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


class Probe:
    """``netlink_probe.py`` running in a namespace; its JSON lines, read with a deadline."""

    def __init__(self, namespace: str, data_dir: Path) -> None:
        argv = ["ip", "netns", "exec", namespace, sys.executable, str(PROBE), str(data_dir)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[Line | None] = queue.Queue()
        self.last: Line = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for text in self.proc.stdout:
            self.lines.put(json.loads(text))
        self.lines.put(None)

    def until(self, wanted: Callable[[Line], bool]) -> Line:
        """The first line from now on that is ``wanted``; fails after :data:`DEADLINE_S`."""
        deadline = time.monotonic() + DEADLINE_S
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no wanted line within {DEADLINE_S} s (last: {self.last})"
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            assert line is not None, f"the probe ended (last: {self.last})"
            self.last = line
            if wanted(line):
                return line

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._reader.join(timeout=10)


@pytest.fixture
def probe(namespace: str, tmp_path: Path) -> Iterator[Probe]:
    running = Probe(namespace, tmp_path)
    try:
        ready = running.until(lambda line: "ready" in line)
        assert "changes: netlink at once" in ready["ready"]
        yield running
    finally:
        running.stop()


def test_a_link_change_is_read_at_once_not_at_the_next_poll(namespace: str, probe: Probe) -> None:
    """The cable is pulled (the veth's other end goes down) and put back: each is read within
    the deadline although the next poll is an hour away."""
    assert probe.until(lambda line: "reading" in line)["network"] == "nl0"
    _ip("-n", namespace, "link", "set", "nl1", "down")
    probe.until(lambda line: line.get("network", "") is None)
    _ip("-n", namespace, "link", "set", "nl1", "up")
    back = probe.until(lambda line: line.get("network") == "nl0")
    assert back["messages"] > 0


def test_a_flood_of_address_changes_costs_a_bounded_number_of_readings(
    namespace: str, probe: Probe
) -> None:
    """The hostile kernel: thousands of messages (500 addresses added and removed on a spare
    link, each with its local route). The source reads at most once per coalescing delay: the
    readings are bounded by the time the flood took, not by its messages."""
    _ip("-n", namespace, "link", "add", "fl0", "type", "veth", "peer", "name", "fl1")
    _ip("-n", namespace, "link", "set", "fl0", "up")
    first = probe.until(lambda line: "reading" in line)
    addresses = [f"10.88.{n // 250}.{n % 250 + 1}/32" for n in range(500)]
    commands = [
        f"address {verb} {address} dev fl0" for verb in ("add", "del") for address in addresses
    ]
    started = time.monotonic()
    subprocess.run(
        ["ip", "-n", namespace, "-batch", "-"],
        input="\n".join(commands) + "\n",
        text=True,
        check=True,
        capture_output=True,
    )
    # A last change after the flood: its reading counts everything before it.
    _ip("-n", namespace, "link", "set", "nl1", "down")
    last = probe.until(lambda line: line.get("network", "") is None)
    elapsed = time.monotonic() - started
    readings = last["reading"] - first["reading"]
    assert last["messages"] - first["messages"] + last["overflows"] > 0
    # Every reading after the first waited COALESCE_S of real time for the burst to end.
    assert readings <= 1 + elapsed / COALESCE_S, (readings, elapsed)
    assert readings < len(commands) / 10, (readings, last)

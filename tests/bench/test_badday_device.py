"""What uidt's daemon is told about its device, and when it must not be told anything."""

from __future__ import annotations

from pathlib import Path

from bench.badday.device import DaemonDevice, device_set


class Daemon:
    """A stand-in for ``uidt cmd device set`` against a daemon that serves or not."""

    def __init__(self, link: bool | None = True) -> None:
        self.serving = True
        self.link = link
        self.args: list[str] = []

    def set(self, arg: str) -> str | None:
        self.args.append(arg)
        return None

    def device(self) -> DaemonDevice:
        return DaemonDevice(self.set, lambda: self.serving, lambda: self.link, lambda: 1.5, [])


def test_metered_and_the_link_are_told_and_recorded() -> None:
    daemon = Daemon()
    device = daemon.device()
    device.set_metered(True)
    assert device.tell_link(False)
    assert daemon.args == ["metered=true", "network=none"]
    assert (device.metered_told, device.link_told) == ([(1.5, True)], [(1.5, False)])


def test_nothing_is_told_while_no_daemon_of_the_harness_serves() -> None:
    # A uidt command that finds no daemon would start one of its own with the real device.
    daemon = Daemon()
    daemon.serving = False
    device = daemon.device()
    device.set_metered(True)
    assert not device.tell_link(False)
    assert daemon.args == []
    assert device.metered  # remembered, for the next daemon


def test_a_new_daemon_is_told_what_differs_from_the_fake_devices_defaults() -> None:
    daemon = Daemon(link=False)
    device = daemon.device()
    daemon.serving = False
    device.set_metered(True)
    daemon.serving = True
    device.tell_new_daemon()
    assert daemon.args == ["metered=true", "network=none"]
    assert device.watcher.told_up is False


def test_a_new_daemon_on_a_working_link_is_told_nothing_of_it() -> None:
    for link in (True, None):  # None: the reading failed; the watcher reads again
        daemon = Daemon(link=link)
        device = daemon.device()
        device.watcher.told_up = False  # what the killed daemon had been told
        device.tell_new_daemon()
        assert daemon.args == []
        assert device.watcher.told_up is True  # what the new daemon believes


def test_telling_a_home_with_no_daemon_fails_and_starts_none(tmp_path: Path) -> None:
    failed = device_set(tmp_path / "home", "network=none")
    assert failed is not None
    assert "no uidt daemon" in failed
    assert not (tmp_path / "home" / "daemon.pid").exists()

"""The losses of the daemon in a row while a command follows jobs (``--wait`` of one job or of
a batch, ``uidt follow``): each one reconnects, too many in a row give up, a daemon stopped on
purpose ends the following at once."""

from __future__ import annotations

import pytest

from uidt.cli import reconnect as module
from uidt.cli.reconnect import (
    GIVE_UP_AFTER_S,
    MAX_RECONNECTS,
    RECONNECT_POLL_S,
    DaemonStopped,
    Losses,
)
from uidt.errors import DaemonError


@pytest.fixture
def reconnects(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []
    monkeypatch.setattr(module, "reconnect", calls.append)
    return calls


class FakeTime:
    """A clock that moves only when told, and a sleep that records and moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _losses(fake: FakeTime) -> Losses:
    return Losses(None, clock=fake.clock, sleep=fake.sleep)  # type: ignore[arg-type]


def test_each_loss_reconnects_and_an_answer_starts_the_count_again(
    reconnects: list[object],
) -> None:
    fake = FakeTime()
    losses = _losses(fake)
    lost = DaemonError("lost the connection to the uidt daemon")
    for _ in range(MAX_RECONNECTS):
        losses.lost(lost)
        fake.now += GIVE_UP_AFTER_S / MAX_RECONNECTS
    losses.answered()
    for _ in range(MAX_RECONNECTS):
        losses.lost(lost)
        fake.now += GIVE_UP_AFTER_S / MAX_RECONNECTS
    assert len(reconnects) == 2 * MAX_RECONNECTS
    with pytest.raises(DaemonError) as raised:
        losses.lost(lost)
    assert raised.value is lost


def test_a_burst_of_quick_losses_during_a_restart_is_not_the_end(
    reconnects: list[object],
) -> None:
    """A daemon that answers its ping and then drops the next ask (another start of it lost the
    home and goes) can make many losses within a second: the follower goes on, pausing between
    them, until the losses have also lasted GIVE_UP_AFTER_S."""
    fake = FakeTime()
    losses = _losses(fake)
    lost = DaemonError("lost the connection to the uidt daemon: closed without an answer")
    for _ in range(3 * MAX_RECONNECTS):
        losses.lost(lost)
    assert len(reconnects) == 3 * MAX_RECONNECTS
    assert fake.slept == [RECONNECT_POLL_S] * (3 * MAX_RECONNECTS - 1)  # never a tight loop
    fake.now = losses.first_loss + GIVE_UP_AFTER_S
    with pytest.raises(DaemonError):
        losses.lost(lost)


def test_a_daemon_still_starting_is_one_more_loss_not_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def starting(_cli: object) -> None:
        raise DaemonError("the daemon is starting")

    monkeypatch.setattr(module, "reconnect", starting)
    losses = _losses(FakeTime())
    losses.lost(DaemonError("lost"))
    assert losses.in_a_row == 1


def test_a_daemon_stopped_on_purpose_ends_the_following(
    monkeypatch: pytest.MonkeyPatch, reconnects: list[object]
) -> None:
    losses = _losses(FakeTime())
    with pytest.raises(DaemonStopped):
        losses.lost(DaemonStopped("the uidt daemon for /x was stopped"))
    assert reconnects == []

    def stopped(_cli: object) -> None:
        raise DaemonStopped("the uidt daemon for /x was stopped")

    monkeypatch.setattr(module, "reconnect", stopped)
    with pytest.raises(DaemonStopped):
        losses.lost(DaemonError("lost"))

"""The losses of the daemon in a row while a command follows jobs (``--wait`` of one job or of
a batch, ``uidt follow``): each one reconnects, too many in a row give up, a daemon stopped on
purpose ends the following at once."""

from __future__ import annotations

import pytest

from uidt.cli import reconnect as module
from uidt.cli.reconnect import MAX_RECONNECTS, DaemonStopped, Losses
from uidt.errors import DaemonError


@pytest.fixture
def reconnects(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []
    monkeypatch.setattr(module, "reconnect", calls.append)
    return calls


def test_each_loss_reconnects_and_an_answer_starts_the_count_again(
    reconnects: list[object],
) -> None:
    losses = Losses(None)  # type: ignore[arg-type]
    lost = DaemonError("lost the connection to the uidt daemon")
    for _ in range(MAX_RECONNECTS):
        losses.lost(lost)
    losses.answered()
    for _ in range(MAX_RECONNECTS):
        losses.lost(lost)
    assert len(reconnects) == 2 * MAX_RECONNECTS
    with pytest.raises(DaemonError) as raised:
        losses.lost(lost)
    assert raised.value is lost


def test_a_daemon_still_starting_is_one_more_loss_not_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def starting(_cli: object) -> None:
        raise DaemonError("the daemon is starting")

    monkeypatch.setattr(module, "reconnect", starting)
    losses = Losses(None)  # type: ignore[arg-type]
    losses.lost(DaemonError("lost"))
    assert losses.in_a_row == 1


def test_a_daemon_stopped_on_purpose_ends_the_following(
    monkeypatch: pytest.MonkeyPatch, reconnects: list[object]
) -> None:
    losses = Losses(None)  # type: ignore[arg-type]
    with pytest.raises(DaemonStopped):
        losses.lost(DaemonStopped("the uidt daemon for /x was stopped"))
    assert reconnects == []

    def stopped(_cli: object) -> None:
        raise DaemonStopped("the uidt daemon for /x was stopped")

    monkeypatch.setattr(module, "reconnect", stopped)
    with pytest.raises(DaemonStopped):
        losses.lost(DaemonError("lost"))

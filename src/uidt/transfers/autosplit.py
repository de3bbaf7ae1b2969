"""Deciding by measurement how many connections one file takes (``--split auto``):
:class:`SplitGovernor`, and :func:`resplit_point`, where an idle connection may take over the
far half of a slow range.

Pure: no I/O, no clock of its own. The segmented fetch (:mod:`uidt.transfers.segmented`) feeds
:meth:`SplitGovernor.observe` the bytes present so far and the injected clock's reading, and
acts on each :class:`Verdict`:

1. **Probe.** One connection, until it has run ``probe_ms`` *and* brought ``probe_bytes``: its
   rate is the base. A file that ends sooner (loopback, a small file) never takes a second one,
   and neither does one whose rest would take less than ``worth_ms`` at that rate: a trial
   costs its windows at what may be a lower rate (two connections on loopback are slower than
   one), which only a long transfer can win back. The same holds before each later trial.
2. **Trial.** The connections are doubled (:attr:`Verdict.ADD` with :attr:`SplitGovernor.step`
   more: for each, the caller cuts the range with most left and gives the far half to it), up
   to ``max_connections``: 1, 2, 4, 8, so a server that limits each connection is filled after
   three trials rather than seven. The first ``settle_ms`` are not counted (the new requests
   are still being answered); the total rate over the next ``trial_ms`` is compared with the
   rate before.
3. **Keep or hand back.** Going from ``n`` to ``n + k`` connections, a link that limits each
   connection gives ``(n + k) / n`` times the rate; the added ones are kept when the rate rose
   by at least ``gain`` of that ideal step (with the default 0.3 and doubling: 1.3x each
   time), and the next doubling is tried. Otherwise (loopback, or a path whose link, not its
   connections, is the limit) :attr:`Verdict.DROP`: the ``k`` connections added last are
   closed, their ranges go back to the others, and the count stays where it is for the rest
   of the run.

Only rates over whole windows are compared, never single samples, and every decision is a
pure function of the readings: the unit tests drive it with made-up rates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MiB = 1024 * 1024

#: The most connections ``--split auto`` grows to (no more than aria2's ``-x`` allows).
AUTO_MAX_SPLIT = 8


class Verdict(enum.Enum):
    """What the segmented fetch does after an observation."""

    WAIT = "wait"  # nothing to change now
    ADD = "add"  # open one more connection on the far half of the range with most left
    DROP = "drop"  # close the connection added last: it did not help; its range goes back


class Phase(enum.Enum):
    """Where the governor is."""

    PROBING = "probing"  # one connection, measuring the base rate
    TRIAL = "trial"  # one connection more than the last kept count, being measured
    SETTLED = "settled"  # the count is final for this run


@dataclass(frozen=True, slots=True)
class AutoSplit:
    """The settings of :class:`SplitGovernor` (defaults: what ``--split auto`` uses)."""

    max_connections: int = AUTO_MAX_SPLIT
    probe_ms: int = 500
    probe_bytes: int = 2 * MiB
    settle_ms: int = 200
    trial_ms: int = 600
    gain: float = 0.3
    worth_ms: int = 4000


class SplitGovernor:
    """Grows the connections of one download while the added ones help (module docstring).

    Args:
        settings: Windows, thresholds and the most connections.
        max_connections: The most connections this file allows (its size over the least
            range); the smaller of this and the settings' wins.
        total: The file's size (what is left decides whether a trial is worth it).
    """

    def __init__(self, settings: AutoSplit, *, max_connections: int, total: int) -> None:
        self.settings = settings
        self.total = total
        self.limit = max(1, min(max_connections, settings.max_connections))
        self.kept = 1  # connections measured to help (the probe's one at first)
        self.connections = 1  # connections asked for now (the trial's included)
        self.step = 0  # connections the last ADD asks for, or the last DROP closes
        self.phase = Phase.PROBING if self.limit > 1 else Phase.SETTLED
        self.base_rate = 0.0  # bytes/s with the kept connections
        self.rates: list[float] = []  # the rate measured in each window (probe, trials)
        self._window: tuple[int, int] | None = None  # (ms, bytes) where this window began
        self._opened_ms = 0  # when the trial's connections were asked for

    @property
    def settled(self) -> bool:
        return self.phase is Phase.SETTLED

    def observe(self, now_ms: int, done: int) -> Verdict:
        """One reading: ``done`` bytes of the file present at ``now_ms`` (a monotonic clock).

        After :attr:`Verdict.ADD` open :attr:`step` connections more (then :meth:`opened`
        if fewer could be); after :attr:`Verdict.DROP` close the :attr:`step` added last.
        """
        if self.phase is Phase.SETTLED:
            return Verdict.WAIT
        if self.phase is Phase.TRIAL and now_ms - self._opened_ms < self.settings.settle_ms:
            return Verdict.WAIT  # the new connections are still starting: not measured
        if self._window is None:
            self._window = (now_ms, done)
            return Verdict.WAIT
        began_ms, began_bytes = self._window
        elapsed_ms, moved = now_ms - began_ms, done - began_bytes
        if self.phase is Phase.PROBING:
            if elapsed_ms < self.settings.probe_ms or moved < self.settings.probe_bytes:
                return Verdict.WAIT
        elif elapsed_ms < self.settings.trial_ms:
            return Verdict.WAIT
        rate = moved * 1000 / max(1, elapsed_ms)
        self.rates.append(rate)
        if self.phase is Phase.PROBING or self._helped(rate):
            self.base_rate, self.kept = rate, self.connections
            return self._grow(now_ms, left=self.total - done)
        self.step = self.connections - self.kept
        self.connections = self.kept
        self.phase = Phase.SETTLED
        return Verdict.DROP

    def opened(self, count: int) -> None:
        """Only ``count`` of the :attr:`step` connections asked for could be opened (no range
        large enough to cut for the others); none: the count is final."""
        self.connections = self.kept + count
        if count == 0:
            self.phase = Phase.SETTLED

    def stop(self) -> None:
        """No more connections (the server answered an added one's range whole): the count
        of those that helped is final."""
        self.connections = self.kept
        self.phase = Phase.SETTLED

    def _helped(self, rate: float) -> bool:
        added = self.connections - self.kept
        return rate >= self.base_rate * (1 + self.settings.gain * added / self.kept)

    def _grow(self, now_ms: int, *, left: int) -> Verdict:
        soon = left * 1000 < self.base_rate * self.settings.worth_ms
        if self.kept >= self.limit or soon:
            self.phase = Phase.SETTLED  # the most, or done too soon for a trial to pay off
            return Verdict.WAIT
        self.step = min(self.kept, self.limit - self.kept)  # doubling, up to the limit
        self.connections = self.kept + self.step
        self.phase = Phase.TRIAL
        self._opened_ms = now_ms
        self._window = None
        return Verdict.ADD


#: An idle connection takes over half of a range only when that range, at its own rate, still
#: needs at least this long (a range about to end is left to finish).
RESPLIT_SECONDS = 1.0
#: A range's rate is known once its connection has been on it this long.
RATE_MS = 500


def worth_resplitting(left: int, rate: float, min_seconds: float = RESPLIT_SECONDS) -> bool:
    """Whether a range with ``left`` bytes to go at ``rate`` bytes/s is slow enough for an idle
    connection to take half of it (``rate`` 0: the range is stalled)."""
    return rate <= 0 or left / rate >= min_seconds


def resplit_point(done: int, end: int, least: int) -> int | None:
    """Where to cut a range whose bytes ``[done, end)`` are still missing so that an idle
    connection takes ``[cut, end)``; ``None`` when either half would be under ``least`` bytes
    (not worth a request: the connection on it finishes soon enough)."""
    if least < 1 or end - done < 2 * least:
        return None
    return done + (end - done) // 2

"""The global ``bandwidth_limit``: divided among the running transfers, told to each worker.

Each transfer runs in a worker process and paces itself (:mod:`uidt.transfers.throttle`), so a
limit for all of them together has to be split: the daemon gives every running run of the
built-in transfer app (``uidt download``/``uidt upload``) a share and sends it to the worker
(the ``bandwidth_limit`` message). The split is fair and wastes nothing on a transfer that is
limited more tightly on its own (``--limit-rate``): such a transfer gets its own limit, and what
it leaves is divided evenly among the others (max-min fairness). Shares are computed again
whenever a run starts or ends, the limit is changed (``uidt cmd bandwidth-limit``, the API,
the Task Manager page) or the timetable turns a page, and only changed shares are sent.

The limit in force comes from the ``bandwidth_limit`` setting (one rate or a timetable, see
:mod:`uidt.timetable`) unless it was changed while the daemon runs: that change holds until
it is reset or the daemon stops. The timetable is read on the daemon's injected clock, in
local time.

A transfer that does not use its whole share (a slow server) does not pass the rest on: the
shares only move when runs start or end or the limit changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from uidt.clock import Clock
from uidt.rates import format_rate
from uidt.server.context import JobServiceContext
from uidt.timetable import BandwidthSchedule, parse_bandwidth_limit
from uidt.transfers.names import TRANSFERS_APP

#: The most seconds between two looks at the timetable (the wall clock may jump).
RECHECK_S = 60.0

#: Send ``(run_id, bytes per second or None)`` to the run's worker.
SendShare = Callable[[int, int | None], None]


def divide(limit: int | None, own_limits: Mapping[int, int | None]) -> dict[int, int | None]:
    """Each run's share of ``limit`` (``None``: no limit), given the runs' own limits.

    Max-min fair: a run whose own limit is below the even share gets its own limit, and the
    rest is divided evenly among the others; every share is at least 1 byte per second.
    """
    if limit is None:
        return dict.fromkeys(own_limits)
    shares: dict[int, int | None] = {}
    left = limit
    order = sorted(own_limits, key=lambda run: (own_limits[run] is None, own_limits[run] or 0))
    for index, run in enumerate(order):
        even = left // (len(order) - index)
        own = own_limits[run]
        share = own if own is not None and own <= even else even
        shares[run] = max(1, share)
        left -= share
    return shares


def own_limit(extras: Mapping[str, Any]) -> int | None:
    """A transfer job's own limit (``limit_rate`` in its extras, bytes per second)."""
    rate = extras.get("limit_rate")
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
        return None
    return rate


async def follow_timetable(limiter: BandwidthLimiter) -> None:
    """Refresh the shares whenever the timetable turns a page (or the limit was changed, or
    :data:`RECHECK_S` passed). Runs until cancelled."""
    while True:
        limiter.changed.clear()
        wait = limiter.seconds_to_next_change()
        wait = RECHECK_S if wait is None else min(RECHECK_S, wait + 0.05)
        try:
            async with asyncio.timeout(wait):
                await limiter.changed.wait()
        except TimeoutError:
            pass
        limiter.refresh()


def local_time(when: datetime) -> datetime:
    """The daemon's local time of an aware UTC reading (the timetable's time zone)."""
    return when.astimezone()


class BandwidthLimiter:
    """The limit in force and the shares last sent.

    Args:
        setting: The ``bandwidth_limit`` setting's text (``None``: no limit).
        clock: The daemon's clock (its ``utc()`` reading turns the timetable's pages).
        running: The core's running runs (all apps'; the transfer app's ones count).
        send: Delivers a share to a run's worker.
        to_local: Turns the clock's UTC reading into the timetable's local time.
    """

    def __init__(
        self,
        setting: str | None,
        *,
        clock: Clock,
        running: Callable[[], Iterable[JobServiceContext]],
        send: SendShare,
        to_local: Callable[[datetime], datetime] = local_time,
    ) -> None:
        self.configured = parse_bandwidth_limit(setting or "off")
        self.override: BandwidthSchedule | None = None
        self.clock = clock
        self.running = running
        self.send = send
        self.to_local = to_local
        #: Set when the limit changes: :func:`follow_timetable` looks at the new one.
        self.changed = asyncio.Event()
        self._sent: dict[int, int | None] = {}
        self._own: dict[int, int | None] = {}  # each run's own limit, read once

    @property
    def schedule(self) -> BandwidthSchedule:
        """What is in force: the change made while running, else the setting."""
        return self.override if self.override is not None else self.configured

    def now(self) -> datetime:
        return self.to_local(self.clock.utc())

    def current(self) -> int | None:
        """The global limit right now in bytes per second (``None``: no limit)."""
        return self.schedule.rate_at(self.now())

    def change(self, text: str) -> BandwidthSchedule:
        """Put ``text`` (a rate, ``off`` or a timetable) in force until :meth:`reset`.

        Raises:
            SettingsError: ``text`` is not a rate or a timetable (nothing changes).
        """
        self.override = parse_bandwidth_limit(text, "bandwidth-limit")
        self._changed()
        return self.override

    def reset(self) -> None:
        """Back to the ``bandwidth_limit`` setting."""
        self.override = None
        self._changed()

    def _changed(self) -> None:
        self.refresh()
        self.changed.set()

    def seconds_to_next_change(self) -> float | None:
        """Seconds until the timetable turns a page (``None``: a single rate)."""
        now = self.now()
        change = self.schedule.next_change(now)
        return None if change is None else max(0.0, (change - now).total_seconds())

    def transfer_runs(self) -> dict[int, int | None]:
        """The running runs of the built-in transfer app, with their own limits."""
        own: dict[int, int | None] = {}
        for ctx in self.running():
            if ctx.status.key.app == TRANSFERS_APP:
                run = ctx.run_id
                own[run] = self._own[run] if run in self._own else own_limit(ctx.status.job.extras)
        self._own = own
        return own

    def refresh(self) -> None:
        """Divide the limit in force among the running transfers; send the shares that changed."""
        shares = divide(self.current(), self.transfer_runs())
        for run in list(self._sent):
            if run not in shares:
                del self._sent[run]
        for run, share in shares.items():
            # A run nobody told anything yet has no limit.
            if self._sent.get(run) != share:
                self._sent[run] = share
                self.send(run, share)

    def shares(self) -> dict[int, int | None]:
        """The shares last sent, by run."""
        return dict(self._sent)

    def describe(self) -> str:
        """One line for people, e.g. ``2M now (timetable "08:00,2M 19:00,off"), next change
        at 19:00; set while running (setting: off); shared by 2 transfers``."""
        now = self.now()
        text = self.schedule.describe(now)
        change = self.schedule.next_change(now)
        if change is not None:
            day = "" if change.date() == now.date() else change.strftime("%a ")
            text += f", next change at {day}{change:%H:%M}"
        if self.override is not None:
            text += f"; set while running (setting: {self.configured.text})"
        runs = len(self._own)
        return f"{text}; shared by {runs} transfer{'' if runs == 1 else 's'}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``GET /v1/bandwidth-limit`` and ``uidt cmd bandwidth-limit``."""
        now = self.now()
        schedule = self.schedule
        change = schedule.next_change(now)
        current = schedule.rate_at(now)
        return {
            "current": current,
            "current_text": format_rate(current),
            "schedule": schedule.text,
            "timetable": schedule.is_timetable,
            "source": "changed" if self.override is not None else "setting",
            "setting": self.configured.text,
            "next_change": None if change is None else change.isoformat(),
            "shares": {str(run): share for run, share in sorted(self._sent.items())},
        }

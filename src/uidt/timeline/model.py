"""What a timeline shows, as values: lanes of coloured bands, stop marks and a bytes curve.

Whoever has the facts builds a :class:`Timeline` (``uidt sim`` from its trace; the daemon from a
job's history and the device readings); :mod:`uidt.timeline.svg` and :mod:`uidt.timeline.png`
draw it. The model carries words, not codes, so the picture explains itself: a band says
"waiting for a suitable network", a mark says "stopped: the battery ran low".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from uidt.job.reasons import PendingReason


class Style(StrEnum):
    """What a band means; each renderer gives each style one colour and a legend entry."""

    RUNNING = "running"
    WAIT_NETWORK = "waiting for a network"
    WAIT_POWER = "waiting for battery or charger"
    WAIT_STORAGE = "waiting for storage"
    WAIT_DEVICE = "held back by heat, memory or power saver"
    WAIT_BACKOFF = "waiting out a backoff delay"
    WAIT_SLOT = "waiting for a free slot"
    WAIT_USER = "stopped by the user"
    WAIT_OTHER = "waiting (other reason)"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DROPPED = "dropped unfinished after a stop"
    USER_STOPPED = "dropped: stopped by the user"
    #: device readings
    GOOD = "reading: fine for transfers"
    LIMITED = "reading: usable with limits (metered, warm, moderate pressure)"
    BAD = "reading: holds transfers back (no network, low battery, hot, low storage)"


_WAIT_STYLE: dict[int, Style] = {
    PendingReason.CONSTRAINT_CONNECTIVITY: Style.WAIT_NETWORK,
    PendingReason.CONSTRAINT_BATTERY_NOT_LOW: Style.WAIT_POWER,
    PendingReason.CONSTRAINT_CHARGING: Style.WAIT_POWER,
    PendingReason.CONSTRAINT_STORAGE_NOT_LOW: Style.WAIT_STORAGE,
    PendingReason.DEVICE_STATE: Style.WAIT_DEVICE,
    PendingReason.CONSTRAINT_MINIMUM_LATENCY: Style.WAIT_BACKOFF,
    PendingReason.UNDEFINED: Style.WAIT_SLOT,
    PendingReason.USER: Style.WAIT_USER,
}


def wait_style(reasons: Sequence[int]) -> Style:
    """The colour of a wait: that of its first (most important) pending reason."""
    first = reasons[0] if reasons else PendingReason.UNDEFINED
    return _WAIT_STYLE.get(int(first), Style.WAIT_OTHER)


class MarkKind(StrEnum):
    """What happened at a mark."""

    STOPPED = "stopped"
    KILLED = "killed"
    CRASHED = "crashed"


@dataclass(frozen=True)
class Band:
    """One stretch of a lane: ``[start_ms, end_ms)`` in ``style``, with its words."""

    start_ms: int
    end_ms: int
    style: Style
    label: str


@dataclass(frozen=True)
class Mark:
    """An instant on a job's lane: a stop, a kill or a crash, with its reason in words."""

    at_ms: int
    kind: MarkKind
    words: str
    #: The reason's code as the API names it (``CONSTRAINT_CONNECTIVITY (CONSTRAINTS_NOT_SATISFIED)``).
    code: str


@dataclass(frozen=True)
class Lane:
    """One row: a job's states, or one device reading."""

    title: str
    bands: tuple[Band, ...]
    marks: tuple[Mark, ...] = ()


@dataclass(frozen=True)
class Curve:
    """Bytes done over time: straight lines between the points (a run moving bytes)."""

    points: tuple[tuple[int, int], ...]
    total: int


@dataclass(frozen=True)
class JobRow:
    """A job's state lane and, where known, its bytes curve."""

    lane: Lane
    curve: Curve | None = None


@dataclass(frozen=True)
class Timeline:
    """A whole picture.

    ``origin`` is the local time of ``start_ms`` for real jobs; ``None`` for a simulation, whose
    times read as hours from its start.
    """

    title: str
    start_ms: int
    end_ms: int
    jobs: tuple[JobRow, ...]
    readings: tuple[Lane, ...] = ()
    origin: datetime | None = None

    def time_text(self, ms: int, *, seconds: bool = True) -> str:
        """``ms`` as the picture writes it (simulation time, or local time of day)."""
        if self.origin is None:
            return clock_text(ms - self.start_ms, seconds=seconds)
        moment = (self.origin + timedelta(milliseconds=ms - self.start_ms)).astimezone()
        return moment.strftime("%H:%M:%S" if seconds else "%H:%M")

    @property
    def time_note(self) -> str:
        """How to read the times (printed under the title)."""
        if self.origin is None:
            return "times: simulated, from the scenario's start (hours:minutes)"
        zone = self.origin.astimezone().strftime("%Z") or "local"
        day = self.origin.astimezone().strftime("%Y-%m-%d")
        return f"times: local time ({zone}), from {day}"

    def marks(self) -> list[tuple[int, str, Mark]]:
        """Every mark with its job's title, in time order (the numbered list under the picture)."""
        found = [(m.at_ms, row.lane.title, m) for row in self.jobs for m in row.lane.marks]
        return sorted(found, key=lambda item: (item[0], item[1]))


def clock_text(ms: int, *, seconds: bool = True) -> str:
    """A time from a start as ``HH:MM:SS`` (``1d 02:00:00`` past a day; ``HH:MM`` without seconds)."""
    total = max(0, ms) // 1000
    days, total = divmod(total, 86_400)
    hours, total = divmod(total, 3600)
    minutes, secs = divmod(total, 60)
    text = f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if seconds else "")
    return f"{days}d {text}" if days else text

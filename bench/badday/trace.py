"""A bad day as data: a seeded random schedule of faults, the same for every client.

Pure: no I/O, no clock. :func:`make_trace` draws the schedule from a seed, :func:`lower_bound_s`
says how long the transfer takes if it only had to wait for the link (up, at its shaped rate).
"""

from __future__ import annotations

import enum
import json
import random
from dataclasses import asdict, dataclass, field

MiB = 1024 * 1024


class Kind(enum.StrEnum):
    """What happens at an event's time."""

    LINK_DOWN = "link-down"  # the client's link is down for ``duration`` seconds
    RATE = "rate"  # the shaped rate becomes ``value`` Mbit/s
    METERED = "metered"  # the network is metered for ``duration`` seconds
    RESET = "reset"  # the proxy resets every open connection
    TRUNCATE = "truncate"  # the proxy ends the next response early, at a random offset
    STALL = "stall"  # the proxy forwards nothing for ``duration`` seconds
    HTTP_503 = "503-burst"  # new requests get 503 for ``duration`` seconds
    HTTP_429 = "429-burst"  # new requests get 429 (Retry-After: 2) for ``duration`` seconds
    ETAG = "etag-change"  # from now on the server names the (same) file with a new ETag
    KILL_DAEMON = "kill-daemon"  # kill -9 of uidt's daemon (a peer: of its process)
    KILL_WORKER = "kill-worker"  # kill -9 of uidt's transfer worker (a peer: of its process)
    REBOOT = "reboot"  # every uidt process killed, started again in a new boot (a peer: killed)


#: Faults that last (their ``duration`` matters).
LASTING = frozenset({Kind.LINK_DOWN, Kind.METERED, Kind.STALL, Kind.HTTP_503, Kind.HTTP_429})
#: Faults the proxy carries out.
PROXY = frozenset({Kind.RESET, Kind.TRUNCATE, Kind.STALL, Kind.HTTP_503, Kind.HTTP_429, Kind.ETAG})
#: Kills of the client's processes.
KILLS = frozenset({Kind.KILL_DAEMON, Kind.KILL_WORKER, Kind.REBOOT})
#: Every trace has each of these exactly once (the issue's list), plus random extras.
ONCE = (
    Kind.LINK_DOWN,
    Kind.METERED,
    Kind.RESET,
    Kind.TRUNCATE,
    Kind.STALL,
    Kind.HTTP_503,
    Kind.HTTP_429,
    Kind.ETAG,
    Kind.KILL_DAEMON,
    Kind.KILL_WORKER,
    Kind.REBOOT,
)
EXTRAS = (Kind.LINK_DOWN, Kind.RATE, Kind.RESET, Kind.TRUNCATE, Kind.STALL, Kind.HTTP_503)


@dataclass(frozen=True, slots=True)
class Event:
    """One fault: ``at`` seconds after the client started; ``duration`` for lasting ones."""

    at: float
    kind: Kind
    duration: float = 0.0
    value: float = 0.0  # RATE: Mbit/s; TRUNCATE: fraction of the body sent

    @property
    def end(self) -> float:
        return self.at + self.duration


@dataclass(frozen=True, slots=True)
class Trace:
    """The schedule of one seed for a file of ``size`` bytes at ``base_mbit`` Mbit/s."""

    seed: int
    size: int
    base_mbit: float
    events: tuple[Event, ...] = field(default_factory=tuple)

    def windows(self, kind: Kind) -> list[tuple[float, float]]:
        """The ``(start, end)`` seconds of every event of a lasting ``kind``."""
        return [(e.at, e.end) for e in self.events if e.kind is kind]

    def to_json(self) -> str:
        data = asdict(self)
        data["events"] = [{**asdict(e), "kind": e.kind.value} for e in self.events]
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Trace:
        data = json.loads(text)
        events = tuple(
            Event(at=e["at"], kind=Kind(e["kind"]), duration=e["duration"], value=e["value"])
            for e in data["events"]
        )
        return cls(seed=data["seed"], size=data["size"], base_mbit=data["base_mbit"], events=events)


def transfer_s(size: int, mbit: float) -> float:
    """Seconds to move ``size`` bytes at ``mbit`` Mbit/s."""
    return size * 8 / (mbit * 1e6)


def _duration(kind: Kind, rng: random.Random) -> float:
    if kind is Kind.LINK_DOWN:
        return round(rng.uniform(2.0, 20.0), 1)
    if kind is Kind.METERED:
        return 30.0
    if kind is Kind.STALL:
        return round(rng.uniform(3.0, 15.0), 1)
    if kind in (Kind.HTTP_503, Kind.HTTP_429):
        return round(rng.uniform(1.0, 6.0), 1)
    return 0.0


def make_trace(seed: int, size: int, base_mbit: float, extras: int = 3) -> Trace:
    """The faults of ``seed``: each kind of :data:`ONCE` once and ``extras`` random ones.

    Faults are spread over the time the transfer would take at ``base_mbit``: between two
    faults the link runs clean for a random stretch (so some progress is made between them),
    and lasting faults never overlap each other. The same seed always gives the same trace.
    """
    rng = random.Random(seed)
    kinds = list(ONCE) + [rng.choice(EXTRAS) for _ in range(extras)]
    rng.shuffle(kinds)
    clean = transfer_s(size, base_mbit) / (len(kinds) + 1)
    t = 0.0
    events: list[Event] = []
    for kind in kinds:
        t += round(rng.uniform(0.3, 1.7) * clean, 2)
        duration = _duration(kind, rng)
        value = 0.0
        if kind is Kind.RATE:
            value = round(base_mbit * rng.choice((0.25, 0.5, 1.0, 1.5)), 1)
        elif kind is Kind.TRUNCATE:
            value = round(rng.uniform(0.05, 0.95), 3)
        events.append(Event(at=round(t, 2), kind=kind, duration=duration, value=value))
        t += duration
    return Trace(seed=seed, size=size, base_mbit=base_mbit, events=tuple(events))


def rate_at(trace: Trace, t: float) -> float:
    """The shaped rate (Mbit/s) in force at second ``t``."""
    rate = trace.base_mbit
    for event in trace.events:
        if event.kind is Kind.RATE and event.at <= t:
            rate = event.value
    return rate


def blocked(trace: Trace, t: float, kinds: frozenset[Kind]) -> bool:
    """Whether second ``t`` lies in a window of one of ``kinds``."""
    return any(e.at <= t < e.end for e in trace.events if e.kind in kinds)


def lower_bound_s(
    trace: Trace, unusable: frozenset[Kind] = frozenset({Kind.LINK_DOWN}), step: float = 0.01
) -> float:
    """Seconds until ``trace.size`` bytes could have crossed a link that is up, at its rate.

    Only the link's own limits count (down windows and the shaped rate); every other fault
    is something a good client might avoid, so it is not in the bound. A job that requires
    an unmetered network also cannot use the metered window: pass
    ``unusable={LINK_DOWN, METERED}`` for its bound.
    """
    moved = 0.0
    t = 0.0
    while moved < trace.size:
        if not blocked(trace, t, unusable):
            moved += rate_at(trace, t) * 1e6 / 8 * step
        t += step
    return round(t, 2)

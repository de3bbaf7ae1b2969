"""The bad day's measurements from the proxy's log: bytes over time, and while metered.

Pure: computed from the logged buckets and the harness's recorded moments.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from bench.badday.bounds import clean_bound_s
from bench.badday.needed import first_body_byte_s, needed_bytes
from bench.badday.proxy import BUCKET_S
from bench.badday.report import RunResult
from bench.badday.trace import Kind, Trace

#: Moments after which uidt's daemon no longer knows the network is metered: the harness
#: starts telling it the end, or the daemon that knew is killed (its successor is told anew).
UNTOLD = ("metered end", "kill-daemon", "reboot")


@dataclass
class Timeline:
    """What the proxy logged: bytes per bucket and its events, plus the harness's moments."""

    buckets: list[tuple[float, int]] = field(default_factory=list)
    proxy_events: list[dict[str, object]] = field(default_factory=list)
    moments: list[tuple[float, str]] = field(default_factory=list)
    metered_told: list[tuple[float, bool]] = field(default_factory=list)
    #: When uidt's daemon was told the link is up (True) / down (False) (the link watcher).
    link_told: list[tuple[float, bool]] = field(default_factory=list)

    @classmethod
    def read(cls, log: Path) -> Timeline:
        timeline = cls()
        if not log.exists():
            return timeline
        for line in log.read_text().splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if "bytes" in record:
                    timeline.buckets.append((float(record["t"]), int(record["bytes"])))
                else:
                    timeline.proxy_events.append(record)
        return timeline

    def total(self) -> int:
        return sum(n for _, n in self.buckets)

    def within(self, windows: list[tuple[float, float]]) -> int:
        """Bytes of the buckets that begin inside one of ``windows``."""
        return sum(n for t, n in self.buckets if any(a <= t < b for a, b in windows))

    def wholly_within(self, windows: list[tuple[float, float]], bucket: float) -> int:
        """Bytes of the buckets (``bucket`` seconds long) that lie wholly inside a window.

        A bucket that straddles a window's end holds bytes from both sides: uidt's job starts
        again within milliseconds of being told that the network is unmetered, and fills the
        rest of that bucket after the end.
        """
        return sum(
            n for t, n in self.buckets if any(a <= t and t + bucket <= b + 1e-9 for a, b in windows)
        )


def told_windows(
    told: list[tuple[float, bool]], untold: list[float], end: float
) -> list[tuple[float, float]]:
    """The windows in which uidt's daemon knew that the network was metered.

    Each starts when a ``metered=true`` command returned (``told``; its daemon knew by then)
    and ends at the next moment of ``untold`` (the ``metered=false`` command started, or the
    daemon was killed), else at ``end``.
    """
    windows: list[tuple[float, float]] = []
    for t, metered in told:
        if not metered:
            continue
        stop = min([u for u in untold if u >= t] or [end])
        if windows and windows[-1][1] >= t:
            continue  # told again within a window that still lasts
        windows.append((t, max(t, stop)))
    return windows


def finish(result: RunResult, timeline: Timeline, trace: Trace) -> RunResult:
    """Fill in the figures that come from the proxy's log, and the clean bounds.

    Bytes while metered: for a peer, in the trace's metered windows (it cannot know); for
    uidt also while its daemon knew (:func:`told_windows`, whole buckets only), so that the
    harness's own delay in telling it is not uidt's. Both counts are kept.
    """
    result.clean_bound_s = clean_bound_s(trace)
    result.clean_bound_unmetered_s = clean_bound_s(trace, frozenset({Kind.METERED}))
    result.sent_bytes = timeline.total()
    result.needed_bytes = needed_bytes(trace, timeline)
    result.first_byte_s = first_body_byte_s(timeline)
    result.metered_bytes = timeline.within(trace.windows(Kind.METERED))
    untold = [t for t, what in timeline.moments if what in UNTOLD]
    ends = [e for _, e in trace.windows(Kind.METERED)]
    result.metered_told_bytes = timeline.wholly_within(
        told_windows(timeline.metered_told, untold, max(ends, default=0.0)), BUCKET_S
    )
    return result


def save(path: Path, result: RunResult, timeline: Timeline) -> None:
    data = {"result": result.__dict__, "timeline": timeline.__dict__}
    path.write_text(json.dumps(data))


def load(path: Path) -> tuple[RunResult, Timeline]:
    data = json.loads(path.read_text())
    timeline = data["timeline"]
    return RunResult(**data["result"]), Timeline(
        buckets=[(float(t), int(n)) for t, n in timeline["buckets"]],
        proxy_events=timeline["proxy_events"],
        moments=[(float(t), str(w)) for t, w in timeline["moments"]],
        metered_told=[(float(t), bool(m)) for t, m in timeline.get("metered_told", [])],
        link_told=[(float(t), bool(u)) for t, u in timeline.get("link_told", [])],
    )

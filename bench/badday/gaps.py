"""Where a client's time went: how long after each fault ended the bytes flowed again.

Pure apart from :func:`main`, which reads the runs kept in ``--out``:
``python -m bench.badday.gaps [--out DIR] [--client uidt] SEED…``.

For every fault that holds a transfer up, the gap is the time from the moment the fault let go
(a link back up, a stall or a burst over, the network unmetered again, a process killed) to the
first byte the proxy wrote to the client after it; for a kill, after the client's first new
request (bytes still in flight from the killed connection do not count). A gap that another
fault overlaps says so (``also: …``): it is then not the client's own time.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from bench.badday.measure import Timeline, finish, load
from bench.badday.proxy import BUCKET_S
from bench.badday.trace import KILLS, LASTING, Kind, Trace

#: Faults whose end (lasting ones) or moment (kills) starts a wait for bytes.
WATCHED = frozenset({Kind.LINK_DOWN, Kind.STALL, Kind.HTTP_503, Kind.HTTP_429, Kind.METERED})


@dataclass(frozen=True, slots=True)
class Gap:
    kind: Kind
    at: float  # when the fault let go (seconds since the client started)
    seconds: float | None  # until bytes flowed again; None: none flowed before the end
    also: tuple[Kind, ...] = ()  # other faults inside the gap


def gaps(trace: Trace, timeline: Timeline, wall: float | None) -> list[Gap]:
    """The gap after every watched fault that let go before the run ended."""
    end = wall if wall is not None else float("inf")
    flowing = sorted(t for t, n in timeline.buckets if n > 0)
    requests = sorted(
        float(str(e["t"])) for e in timeline.proxy_events if e.get("event") == "request"
    )
    found = []
    for event in trace.events:
        if event.kind in KILLS:
            at = event.at
            start = next((t for t in requests if t >= at), None)
        elif event.kind in WATCHED:
            at = event.end
            start = at
        else:
            continue
        if at >= end:
            continue
        first = None
        if start is not None:  # a bucket holds the bytes of [t, t + BUCKET_S)
            first = next((max(t, start) for t in flowing if t + BUCKET_S > start), None)
        stop = end if first is None else first
        seconds = None if first is None or first > end else round(first - at, 2)
        also = tuple(
            e.kind
            for e in trace.events
            if e is not event
            and ((e.kind in LASTING and e.at < stop and e.end > at) or (e.at > at and e.at < stop))
        )
        found.append(Gap(event.kind, round(at, 2), seconds, also))
    return found


def metered_s(trace: Trace, wall: float | None) -> float:
    """Seconds of the run inside the metered windows (a job that requires unmetered waits)."""
    end = wall if wall is not None else float("inf")
    return round(sum(max(0.0, min(b, end) - a) for a, b in trace.windows(Kind.METERED)), 2)


def describe(gap: Gap) -> str:
    what = {Kind.LINK_DOWN: "link back", Kind.METERED: "unmetered again"}.get(
        gap.kind, f"{gap.kind.value} end" if gap.kind in LASTING else gap.kind.value
    )
    seconds = "no bytes after it" if gap.seconds is None else f"{gap.seconds:.1f} s"
    also = f" (also: {', '.join(k.value for k in gap.also)})" if gap.also else ""
    return f"{gap.at:.1f} s {what}: {seconds}{also}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.badday.gaps", description=__doc__)
    parser.add_argument("seeds", type=int, nargs="+")
    parser.add_argument("--out", type=Path, default=Path("/tmp/uidt-badday"))
    parser.add_argument("--client", default="uidt")
    args = parser.parse_args(argv)
    for seed in args.seeds:
        seed_dir = args.out / "runs" / f"seed-{seed}"
        trace = Trace.from_json((seed_dir / "trace.json").read_text())
        result, timeline = load(seed_dir / args.client / "result.json")
        result = finish(result, timeline, trace)
        wall = result.wall_s
        print(
            f"seed {seed} {args.client}: wall {'-' if wall is None else f'{wall:.1f}'} s, "
            f"clean bound {result.own_clean_bound_s:.1f} s, "
            f"in the metered window {metered_s(trace, wall):.1f} s"
        )
        for gap in gaps(trace, timeline, result.wall_s):
            print(f"  {describe(gap)}")
        if timeline.link_told:
            told = ", ".join(f"{t:.1f} {'up' if up else 'down'}" for t, up in timeline.link_told)
            print(f"  link told: {told}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

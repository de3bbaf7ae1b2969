"""Who wrote a destination when: the ``fleet-run`` lines of worker logs, read back.

A download run on a shared store logs a line when it starts writing its destination (it holds
the part file's lock, its fence is up) and one when it stopped (the part file is closed):
:data:`uidt.transfers.fence.RUN_LINE`. :func:`read_runs` turns those lines, from the worker
logs of every host, into one :class:`RunSpan` per run; :func:`overlaps` names the runs whose
spans overlap, which must never happen: a job runs on one host at a time. The times are each
host's wall clock, so the check is exact for hosts on one machine (the tests and benchmarks)
and as good as the clocks' agreement across machines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunSpan", "overlaps", "read_runs"]

_LINE = re.compile(
    r"fleet-run (?P<event>start|end) host=(?P<host>\S+) generation=(?P<generation>\d+) "
    r"realtime=(?P<t>[\d.]+) outcome=(?P<outcome>\S+) dest=(?P<dest>.+)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class RunSpan:
    """One run's writes: from ``start`` to ``end`` (wall clock seconds; ``None``: no end
    logged, the worker died while writing)."""

    host: str
    generation: int
    dest: str
    start: float
    end: float | None
    outcome: str | None


def read_runs(logs: Iterable[Path]) -> list[RunSpan]:
    """The runs the ``fleet-run`` lines of ``logs`` describe, by start time."""
    starts: dict[tuple[str, int, str], float] = {}
    spans: list[RunSpan] = []
    for log in logs:
        if not log.exists():
            continue
        for match in _LINE.finditer(log.read_text(errors="replace")):
            key = (match["host"], int(match["generation"]), match["dest"])
            t = float(match["t"])
            if match["event"] == "start":
                starts[key] = t
                continue
            began = starts.pop(key, None)
            if began is not None:
                spans.append(RunSpan(*key, began, t, match["outcome"]))
    spans.extend(RunSpan(*key, began, None, None) for key, began in starts.items())
    return sorted(spans, key=lambda span: span.start)


def overlaps(spans: list[RunSpan]) -> list[tuple[RunSpan, RunSpan]]:
    """Pairs of runs of one destination whose spans overlap (a run without an end overlaps
    every later one)."""
    found: list[tuple[RunSpan, RunSpan]] = []
    ordered = sorted(spans, key=lambda span: span.start)
    for i, first in enumerate(ordered):
        for later in ordered[i + 1 :]:
            if later.dest == first.dest and (first.end is None or later.start < first.end):
                found.append((first, later))
    return found

"""A real job's timeline from what the daemon keeps: the job's object of ``uidt jobs --json``
(its last state changes, ``history``) and its pending-reason history (``GET
/v1/apps/APP/jobs/ID/reasons``). Times are local time of day.

The daemon keeps the last ten state changes and the last ten changes of the pending reasons per
job, and no device readings yet: the picture starts at the oldest kept change and has no device
lanes. A waiting stretch older than the kept reasons reads "waiting (reason not kept)".
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from uidt.job.reasons import (
    InternalStopReason,
    PendingReason,
    StopReason,
    pending_words,
    stop_words,
)
from uidt.timeline.model import Band, JobRow, Lane, Mark, MarkKind, Style, Timeline, wait_style

_RUNNING = {"active", "executing"}
_ENDED = {
    "finished": (Style.FINISHED, "finished"),
    "failed": (Style.FAILED, "failed"),
    "cancelled": (Style.CANCELLED, "cancelled"),
    "user-stopped": (Style.USER_STOPPED, "dropped: stopped by the user"),
}


def _utc_ms(text: str) -> int:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _stop_pair(reason: str) -> tuple[StopReason, InternalStopReason] | None:
    """``"CONSTRAINT_CONNECTIVITY/CONSTRAINTS_NOT_SATISFIED, backoff 0 ms"`` → the two reasons."""
    public, _, rest = reason.partition("/")
    internal = rest.split(",", 1)[0].strip()
    try:
        return StopReason[public.strip()], InternalStopReason[internal]
    except KeyError:
        return None


def _mark(at: int, reason: str) -> Mark | None:
    pair = _stop_pair(reason)
    if pair is None:
        return None
    public, internal = pair
    if public is StopReason.UNDEFINED and internal is InternalStopReason.SUCCESSFUL_FINISH:
        return None  # the app finished its work: no stop
    kind = MarkKind.STOPPED
    if internal in (InternalStopReason.USER_UI_STOP, InternalStopReason.UNKNOWN):
        kind = MarkKind.KILLED  # the Task Manager's Stop, or the process died
    return Mark(at, kind, stop_words(public, internal), f"{public.name} ({internal.name})")


def timeline_of_job(
    job: dict[str, Any], reasons_history: Sequence[Sequence[Any]], now: datetime
) -> Timeline:
    """The timeline of one job.

    Args:
        job: the job's object of ``uidt jobs --json`` (scheduled or ended).
        reasons_history: ``[[utc_ms, [pending reason, …]], …]``, oldest first.
        now: the end of the picture for a job still scheduled.
    """
    entries = sorted(
        ((_utc_ms(h["time"]), str(h["state"]), str(h["reason"])) for h in job.get("history") or []),
        key=lambda item: item[0],
    )
    end = int(now.timestamp() * 1000)
    start = entries[0][0] if entries else end
    changes = [(int(t), [int(r) for r in rs]) for t, rs in reasons_history]
    bands: list[Band] = []
    marks: list[Mark] = []
    stretch: tuple[int, str] | None = None  # (since, "running" | "waiting")
    ended: tuple[int, str, str] | None = None
    for i, (at, state, reason) in enumerate(entries):
        last = i == len(entries) - 1
        if state in _ENDED and (state != "user-stopped" or (last and job.get("state") == state)):
            if stretch is not None:
                bands += _stretch(stretch, at, changes)
            stretch = None
            ended = (at, state, reason)
            mark = _mark(at, reason)
            if mark is not None and state != "failed":
                marks.append(mark)
            break
        if state == "crashed":
            marks.append(Mark(at, MarkKind.CRASHED, "the app crashed", reason))
            continue
        if state == "rescheduled":
            mark = _mark(at, reason)
            if mark is not None and not (marks and marks[-1].kind is MarkKind.CRASHED):
                marks.append(mark)
        kind = "running" if state in _RUNNING else "waiting"
        if stretch is None or stretch[1] != kind:
            if stretch is not None:
                bands += _stretch(stretch, at, changes)
            stretch = (at, kind)
    if ended is not None:
        at, state, reason = ended
        style, label = _ENDED[state]
        if state == "failed":
            label = f"failed: {job.get('failure') or reason}"
        end = max(end, at)
        bands.append(Band(at, end, style, label))
    elif stretch is not None:
        bands += _stretch(stretch, end, changes)
    title = f"{job.get('app')}/{job.get('job_id')}"
    origin = datetime.fromtimestamp(start / 1000, tz=UTC)
    return Timeline(
        title=f"uidt job {title}",
        start_ms=start,
        end_ms=max(end, start + 1),
        jobs=(JobRow(Lane(title, tuple(bands), tuple(marks))),),
        origin=origin,
    )


def _stretch(
    stretch: tuple[int, str], until: int, changes: list[tuple[int, list[int]]]
) -> list[Band]:
    since, kind = stretch
    if until <= since:
        return []
    if kind == "running":
        return [Band(since, until, Style.RUNNING, "running")]
    # split the wait where its pending reasons changed
    cuts = [since] + [t for t, _ in changes if since < t < until] + [until]
    bands = []
    for a, b in itertools.pairwise(cuts):
        known = [rs for t, rs in changes if t <= a]
        if not known:
            bands.append(Band(a, b, Style.WAIT_OTHER, "waiting (reason not kept)"))
            continue
        reasons = known[-1]
        words = "; ".join(pending_words(reasons or [PendingReason.UNDEFINED]))
        bands.append(Band(a, b, wait_style(reasons), words))
    return bands

"""A real job's timeline from what the daemon keeps: the job's object of ``uidt jobs --json``
(its last state changes, ``history``, and its ``constraints``), its pending-reason history (``GET
/v1/apps/APP/jobs/ID/reasons``) and the device readings (``GET /v1/device/history``). Times are
local time of day.

The daemon keeps the last :data:`~uidt.server.status.HISTORY_SIZE` state changes and changes of
the pending reasons per job: the picture starts at the oldest kept change, and a waiting stretch
older than the kept reasons reads "waiting (reason not kept)". Device lanes: the readings the
job's constraints depend on (network, battery, storage), and heat, memory pressure and power saver
when they were not normal while the job was there (they hold every job back). A lane that changed
more often than the picture can show merges its short stretches into "changed N times" bands, so
a flapping device draws a bounded picture. Where the app reported its bytes, a line of the bytes
done over time (the daemon keeps a few points per job, :class:`~uidt.server.progress.ByteSamples`;
a new run counts from 0).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from uidt.device.history import BATTERY_BAND, DeviceReading
from uidt.device.state import DeviceState, MemoryPressure, ThermalStatus
from uidt.job.reasons import (
    InternalStopReason,
    PendingReason,
    StopReason,
    pending_words,
    stop_words,
)
from uidt.timeline.model import (
    Band,
    Curve,
    JobRow,
    Lane,
    Mark,
    MarkKind,
    Style,
    Timeline,
    wait_style,
)
from uidt.timeline.readings import (
    Reader,
    battery_words,
    heat_words,
    memory_words,
    network_words,
    power_saver_words,
    reading_lane,
    storage_words,
)

#: A device lane with more bands than this merges its shortest stretches (a flapping device).
MAX_READING_BANDS = 400

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
    job: dict[str, Any],
    reasons_history: Sequence[Sequence[Any]],
    now: datetime,
    readings: Sequence[DeviceReading] = (),
    bytes_history: Sequence[Sequence[int]] = (),
) -> Timeline:
    """The timeline of one job.

    Args:
        job: the job's object of ``uidt jobs --json`` (scheduled or ended).
        reasons_history: ``[[utc_ms, [pending reason, …]], …]``, oldest first (for an ended
            job, empty: its record's ``reasons_history`` is used).
        now: the end of the picture for a job still scheduled.
        readings: the device readings kept by the daemon, oldest first (any span: clipped).
        bytes_history: ``[[utc_ms, bytes done], …]``, oldest first (for an ended job, empty: its
            record's ``bytes_history`` is used); none: no bytes line.
    """
    entries = sorted(
        ((_utc_ms(h["time"]), str(h["state"]), str(h["reason"])) for h in job.get("history") or []),
        key=lambda item: item[0],
    )
    end = int(now.timestamp() * 1000)
    start = entries[0][0] if entries else end
    # an ended job's record carries its own (the daemon no longer has the job)
    kept = reasons_history or job.get("reasons_history") or []
    changes = [(int(t), [int(r) for r in rs]) for t, rs in kept]
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
    end = max(end, start + 1)
    return Timeline(
        title=f"uidt job {title}",
        start_ms=start,
        end_ms=end,
        jobs=(JobRow(Lane(title, tuple(bands), tuple(marks)), _curve(job, bytes_history, end)),),
        readings=tuple(_device_lanes(job, readings, start, end)),
        origin=origin,
    )


def first_change_utc_ms(job: dict[str, Any]) -> int | None:
    """When the oldest kept state change of ``job`` happened (where its picture starts)."""
    times = [_utc_ms(h["time"]) for h in job.get("history") or []]
    return min(times) if times else None


def device_readings(items: Sequence[Any]) -> list[DeviceReading]:
    """The readings of ``GET /v1/device/history`` (``readings``), oldest first.

    Raises:
        BadReadingError: one of them is not a reading.
    """
    return sorted((DeviceReading.from_dict(item) for item in items), key=lambda r: r.at_utc_ms)


def _curve(job: dict[str, Any], bytes_history: Sequence[Sequence[int]], end: int) -> Curve | None:
    kept = bytes_history or job.get("bytes_history") or []
    points = tuple((int(t), max(0, int(done))) for t, done in kept if int(t) <= end)
    if not points:
        return None
    estimate = sum(
        max(0, int(job.get(name) or 0))
        for name in ("estimated_download_bytes", "estimated_upload_bytes")
    )
    return Curve(points, estimate or max(done for _, done in points))


def _device_lanes(
    job: dict[str, Any], readings: Sequence[DeviceReading], start: int, end: int
) -> list[Lane]:
    kept = [r for r in readings if r.at_utc_ms < end]
    before = [r for r in kept if r.at_utc_ms <= start]
    kept = before[-1:] + [r for r in kept if r.at_utc_ms > start]
    if not kept:
        return []
    states = [(max(r.at_utc_ms, start), r.state()) for r in kept]
    wants = set(job.get("constraints") or ())
    seen = [state for _, state in states]
    lanes: list[tuple[str, Reader, bool]] = [
        ("network", network_words, "network" in wants),
        ("battery", _battery_band_words, bool(wants & {"charging", "battery_not_low"})),
        ("storage", storage_words, "storage_not_low" in wants or any(s.storage_low for s in seen)),
        ("heat", heat_words, any(s.thermal is not ThermalStatus.NONE for s in seen)),
        ("memory", memory_words, any(s.memory is not MemoryPressure.NORMAL for s in seen)),
        ("power saver", power_saver_words, any(s.power_saver for s in seen)),
    ]
    return [
        _bounded(reading_lane(title, read, states, end), start, end)
        for title, read, shown in lanes
        if shown
    ]


def _battery_band_words(state: DeviceState) -> tuple[Style, str]:
    """The battery as kept: its level in bands of ten (``40-49 %``)."""
    style, label = battery_words(state)
    level = state.battery_level
    band = "100 %" if level >= 100 else f"{level}-{level + BATTERY_BAND - 1} %"
    return style, label.replace(f"{level} %", band, 1)


def _bounded(lane: Lane, start: int, end: int) -> Lane:
    """``lane`` with at most about :data:`MAX_READING_BANDS` bands: runs of stretches too short
    to see merge into one "changed N times" band."""
    if len(lane.bands) <= MAX_READING_BANDS:
        return lane
    shortest = 2 * (end - start) / MAX_READING_BANDS
    bands: list[Band] = []
    run: list[Band] = []

    def close_run() -> None:
        if len(run) == 1:
            bands.append(run[0])
        elif run:
            words = f"changed {len(run)} times"
            bands.append(Band(run[0].start_ms, run[-1].end_ms, Style.LIMITED, words))
        run.clear()

    for band in lane.bands:
        if band.end_ms - band.start_ms < shortest:
            run.append(band)
            continue
        close_run()
        bands.append(band)
    close_run()
    return Lane(lane.title, tuple(bands), lane.marks)


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

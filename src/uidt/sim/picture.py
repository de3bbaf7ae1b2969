"""A simulation's result as a :class:`~uidt.timeline.model.Timeline` (drawn by
:mod:`uidt.timeline`, the same module that draws real jobs)."""

from __future__ import annotations

from collections.abc import Callable

from uidt.device.state import DeviceState, MemoryPressure, ThermalStatus
from uidt.job.reasons import PendingReason, pending_words
from uidt.sim.scenario import Constraint
from uidt.sim.trace import JobTrace, Phase, SimResult, Span, StopKind
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
    battery_words,
    heat_words,
    memory_words,
    network_words,
    power_saver_words,
    reading_lane,
    storage_words,
)

_MARK_KIND = {
    StopKind.STOPPED: MarkKind.STOPPED,
    StopKind.KILLED: MarkKind.KILLED,
    StopKind.CRASHED: MarkKind.CRASHED,
}
_ENDED_BAND = {
    Phase.FINISHED: (Style.FINISHED, "finished"),
    Phase.DROPPED: (Style.DROPPED, "dropped unfinished"),
    Phase.FAILED: (Style.FAILED, "failed"),
    Phase.CANCELLED: (Style.CANCELLED, "cancelled by the app"),
    Phase.USER_STOPPED: (Style.USER_STOPPED, "dropped: stopped by the user"),
}


def timeline_of(result: SimResult) -> Timeline:
    """Every job of ``result`` and the device readings they depend on, on one picture."""
    return Timeline(
        title=f"uidt sim: {result.scenario_name} (seed {result.seed})",
        start_ms=0,
        end_ms=result.duration_ms,
        jobs=tuple(_job_row(trace) for trace in result.jobs),
        readings=tuple(_readings(result)),
    )


def _job_row(trace: JobTrace) -> JobRow:
    bands = [band for span in trace.spans if (band := _band(span, trace)) is not None]
    marks = tuple(
        Mark(
            stop.at_ms,
            _MARK_KIND[stop.kind],
            stop.words,
            "process killed after the crash" if stop.kind is StopKind.CRASHED else stop.reason_text,
        )
        for stop in trace.stops
    )
    kind = "" if trace.spec.user_initiated else " (regular)"
    curve = None
    if trace.spec.total_bytes:
        curve = Curve(tuple(trace.progress), trace.spec.total_bytes)
    return JobRow(Lane(trace.spec.name + kind, tuple(bands), marks), curve)


def _band(span: Span, trace: JobTrace) -> Band | None:
    if span.phase is Phase.NOT_SCHEDULED:
        return None
    if span.phase is Phase.RUNNING:
        return Band(span.start_ms, span.end_ms, Style.RUNNING, "running")
    if span.phase is Phase.WAITING:
        reasons = span.reasons or (PendingReason.UNDEFINED,)
        style = wait_style(reasons)
        return Band(span.start_ms, span.end_ms, style, "; ".join(pending_words(list(reasons))))
    style, label = _ENDED_BAND[span.phase]
    if span.phase is Phase.FAILED and trace.failure:
        label = f"failed: {trace.failure}"
    return Band(span.start_ms, span.end_ms, style, label)


# -- device readings ---------------------------------------------------------------------------


def _readings(result: SimResult) -> list[Lane]:
    specs = [trace.spec for trace in result.jobs]
    history = result.device
    constraints = set().union(*(spec.constraints for spec in specs)) if specs else set()
    lanes: list[tuple[str, Callable[[DeviceState], tuple[Style, str]], bool]] = [
        ("network", network_words, any(spec.network is not None for spec in specs)),
        (
            "battery",
            battery_words,
            bool(constraints & {Constraint.CHARGING, Constraint.BATTERY_NOT_LOW}),
        ),
        (
            "storage",
            storage_words,
            Constraint.STORAGE_NOT_LOW in constraints or any(s.storage_low for _, s in history),
        ),
        ("heat", heat_words, any(s.thermal is not ThermalStatus.NONE for _, s in history)),
        ("memory", memory_words, any(s.memory is not MemoryPressure.NORMAL for _, s in history)),
        ("power saver", power_saver_words, any(s.power_saver for _, s in history)),
    ]
    return [
        reading_lane(title, read, history, result.duration_ms)
        for title, read, shown in lanes
        if shown
    ]

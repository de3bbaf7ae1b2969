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
        ("network", _network, any(spec.network is not None for spec in specs)),
        (
            "battery",
            _battery,
            bool(constraints & {Constraint.CHARGING, Constraint.BATTERY_NOT_LOW}),
        ),
        (
            "storage",
            _storage,
            Constraint.STORAGE_NOT_LOW in constraints or any(s.storage_low for _, s in history),
        ),
        ("heat", _thermal, any(s.thermal is not ThermalStatus.NONE for _, s in history)),
        ("memory", _memory, any(s.memory is not MemoryPressure.NORMAL for _, s in history)),
        ("power saver", _power_saver, any(s.power_saver for _, s in history)),
    ]
    return [
        _lane(title, read, history, result.duration_ms) for title, read, shown in lanes if shown
    ]


def _lane(
    title: str,
    read: Callable[[DeviceState], tuple[Style, str]],
    history: list[tuple[int, DeviceState]],
    end: int,
) -> Lane:
    bands: list[Band] = []
    for i, (at, state) in enumerate(history):
        until = history[i + 1][0] if i + 1 < len(history) else end
        style, label = read(state)
        if bands and (bands[-1].style, bands[-1].label) == (style, label):
            bands[-1] = Band(bands[-1].start_ms, until, style, label)
        elif until > at:
            bands.append(Band(at, until, style, label))
    return Lane(title, tuple(bands))


def _network(state: DeviceState) -> tuple[Style, str]:
    network = state.network
    if network is None:
        return Style.BAD, "no network"
    name = {0: "cellular", 1: "Wi-Fi", 3: "Ethernet", 4: "VPN"}.get(int(network.transport), "?")
    if network.roaming:
        return Style.LIMITED, f"{name}, roaming"
    if network.metered:
        return Style.LIMITED, f"{name}, metered"
    return Style.GOOD, f"{name}, unmetered"


def _battery(state: DeviceState) -> tuple[Style, str]:
    if state.charging:
        return Style.GOOD, f"{state.battery_level} %, charging"
    if not state.battery_not_low:
        return Style.BAD, f"{state.battery_level} %, low, on battery"
    return Style.LIMITED, f"{state.battery_level} %, on battery"


def _storage(state: DeviceState) -> tuple[Style, str]:
    return (Style.BAD, "storage low") if state.storage_low else (Style.GOOD, "storage fine")


def _thermal(state: DeviceState) -> tuple[Style, str]:
    level = state.thermal
    style = Style.GOOD if level is ThermalStatus.NONE else Style.LIMITED
    if level >= ThermalStatus.SEVERE:
        style = Style.BAD
    return style, "cool" if level is ThermalStatus.NONE else f"{level.name.lower()} heat"


def _memory(state: DeviceState) -> tuple[Style, str]:
    level = state.memory
    style = {MemoryPressure.NORMAL: Style.GOOD, MemoryPressure.MODERATE: Style.LIMITED}
    return style.get(level, Style.BAD), f"{level.name.lower()} memory pressure"


def _power_saver(state: DeviceState) -> tuple[Style, str]:
    return (Style.LIMITED, "power saver on") if state.power_saver else (Style.GOOD, "off")

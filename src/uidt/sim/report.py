"""A simulation's result as text for a person and as JSON for a program (the same facts)."""

from __future__ import annotations

from typing import Any

from uidt.job.network import NetworkType
from uidt.job.reasons import PENDING_WORDS
from uidt.sim.quantities import span_text
from uidt.sim.trace import JobTrace, Phase, SimResult
from uidt.timeline.model import clock_text
from uidt.units import human_bytes

_NEEDS = {
    None: "no network",
    NetworkType.ANY: "any network",
    NetworkType.UNMETERED: "an unmetered network",
    NetworkType.NOT_ROAMING: "a network that is not roaming",
    NetworkType.CELLULAR: "a cellular network",
}


def to_json(result: SimResult) -> dict[str, Any]:
    """The result as JSON-safe values (times in simulation milliseconds from the start)."""
    return {
        "scenario": result.scenario_name,
        "seed": result.seed,
        "duration_ms": result.duration_ms,
        "jobs": [_job_json(trace) for trace in result.jobs],
    }


def _job_json(trace: JobTrace) -> dict[str, Any]:
    spec = trace.spec
    waiting = trace.waiting_ms()
    return {
        "app": spec.app,
        "job_id": spec.job_id,
        "user_initiated": spec.user_initiated,
        "outcome": trace.outcome.value,
        "ended_at_ms": trace.ended[1] if trace.ended else None,
        "failure": trace.failure,
        "runs": trace.runs,
        "bytes_done": trace.bytes_done,
        "bytes_total": spec.total_bytes,
        "stops": [
            {
                "at_ms": stop.at_ms,
                "kind": stop.kind.value,
                "reason": stop.reason.name,
                "internal_reason": stop.internal.name,
                "words": stop.words,
            }
            for stop in trace.stops
        ],
        "waiting_ms": {reason.name: ms for reason, ms in waiting.items()},
    }


def to_text(result: SimResult) -> str:
    """The result as lines a person reads: per job its outcome, stops and waits."""
    out = [
        f"Scenario: {result.scenario_name} (seed {result.seed}, "
        f"{span_text(result.duration_ms)} simulated; times from its start)"
    ]
    for trace in result.jobs:
        out.append("")
        out.extend(_job_text(trace, result.duration_ms))
    return "\n".join(out) + "\n"


def _job_text(trace: JobTrace, duration: int) -> list[str]:
    spec = trace.spec
    kind = "user-initiated" if spec.user_initiated else "regular"
    lines = [
        f"job {spec.name} ({kind}, needs {_NEEDS.get(spec.network, 'a network')}"
        + "".join(f", {c.value.replace('_', ' ')}" for c in sorted(spec.constraints))
        + ")"
    ]
    lines.append(f"  outcome: {_outcome(trace, duration)}")
    lines.append(
        f"  bytes:   {human_bytes(trace.bytes_done)} of {human_bytes(spec.total_bytes)}"
        f" in {trace.runs} run{'s' if trace.runs != 1 else ''}"
    )
    if trace.stops:
        lines.append("  stops:")
        for stop in trace.stops:
            lines.append(f"    {clock_text(stop.at_ms)}  {stop.words} [{stop.reason_text}]")
    waiting = trace.waiting_ms()
    if waiting:
        lines.append("  waited:")
        for reason, ms in sorted(waiting.items(), key=lambda item: (-item[1], item[0])):
            words = PENDING_WORDS.get(reason, reason.name.lower())
            lines.append(f"    {span_text(ms):>8}  {words} [{reason.name}]")
    return lines


def _outcome(trace: JobTrace, duration: int) -> str:
    if trace.ended is not None:
        phase, at = trace.ended
        text = f"{phase.value} at {clock_text(at)}"
        if phase is Phase.DROPPED:
            text += " (stopped, and the app did not ask to run again: its work is not done)"
        if phase is Phase.FAILED and trace.failure:
            text += f": {trace.failure}"
        return text
    phase = trace.outcome
    if phase is Phase.NOT_SCHEDULED:
        return "never scheduled" + (f" ({trace.failure})" if trace.failure else "")
    return f"still {phase.value} when the scenario ended at {clock_text(duration)}"

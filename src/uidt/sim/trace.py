"""What a simulation saw, per job and for the device: the raw material of the report and the
timeline. Times are simulation milliseconds from the scenario's start."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from uidt.device.state import DeviceState
from uidt.job.reasons import InternalStopReason, PendingReason, StopReason, stop_words
from uidt.sim.scenario import JobSpec


class StopKind(StrEnum):
    """How a run ended before its work was done."""

    #: The scheduler asked the app to stop (``on_stop_job``).
    STOPPED = "stopped"
    #: The app's process was killed (the user's Stop, no answer in time) or died.
    KILLED = "killed"
    #: The app's code raised: the process was killed, as Android kills a crashing app.
    CRASHED = "crashed"


class Phase(StrEnum):
    """A job's state on the timeline."""

    NOT_SCHEDULED = "not scheduled"
    WAITING = "waiting"
    RUNNING = "running"
    FINISHED = "finished"
    #: The core ended the job after a stop because the app did not ask for it back (Android's
    #: drop; the core's state reads "finished"): its work was not done, so it is not finished.
    DROPPED = "dropped"
    FAILED = "failed"
    CANCELLED = "cancelled"
    USER_STOPPED = "user-stopped"


@dataclass(frozen=True)
class Stop:
    """One run that ended before the work was done."""

    at_ms: int
    kind: StopKind
    reason: StopReason
    internal: InternalStopReason

    @property
    def words(self) -> str:
        if self.kind is StopKind.CRASHED:
            return "the app crashed"
        return stop_words(self.reason, self.internal)

    @property
    def reason_text(self) -> str:
        return f"{self.reason.name} ({self.internal.name})"


@dataclass(frozen=True)
class Span:
    """A stretch of one phase, ``[start_ms, end_ms)``, with the pending reasons while waiting."""

    start_ms: int
    end_ms: int
    phase: Phase
    reasons: tuple[PendingReason, ...] = ()


@dataclass
class JobTrace:
    """Everything the simulation recorded about one job."""

    spec: JobSpec
    spans: list[Span] = field(default_factory=list)
    stops: list[Stop] = field(default_factory=list)
    #: ``(at_ms, bytes done)`` at every start and end of a run; straight lines in between.
    progress: list[tuple[int, int]] = field(default_factory=list)
    runs: int = 0
    #: The app called ``job_finished`` with all its bytes done.
    completed: bool = False
    failure: str | None = None
    #: The terminal phase and when it was reached (``None`` while the job is still scheduled).
    ended: tuple[Phase, int] | None = None
    _open: tuple[int, Phase, tuple[PendingReason, ...]] | None = None

    def observe(self, now: int, phase: Phase, reasons: tuple[PendingReason, ...] = ()) -> None:
        """The job is in ``phase`` from ``now`` on (a repeat of the same phase is no change)."""
        if self._open is not None:
            start, open_phase, open_reasons = self._open
            if (open_phase, open_reasons) == (phase, reasons):
                return
            if now > start:
                self.spans.append(Span(start, now, open_phase, open_reasons))
        self._open = (now, phase, reasons)

    def close(self, now: int) -> None:
        """The simulation ends at ``now``: the open stretch ends there."""
        if self._open is not None:
            start, phase, reasons = self._open
            if now > start or not self.spans:
                self.spans.append(Span(start, max(now, start), phase, reasons))
            self._open = None

    @property
    def bytes_done(self) -> int:
        return self.progress[-1][1] if self.progress else 0

    @property
    def outcome(self) -> Phase:
        """The terminal phase, or the phase the job was in when the simulation ended."""
        if self.ended is not None:
            return self.ended[0]
        return self.spans[-1].phase if self.spans else Phase.NOT_SCHEDULED

    def waiting_ms(self) -> dict[PendingReason, int]:
        """Time spent waiting per pending reason (a wait with two reasons counts for both)."""
        totals: dict[PendingReason, int] = {}
        for span in self.spans:
            if span.phase is Phase.WAITING:
                for reason in span.reasons or (PendingReason.UNDEFINED,):
                    totals[reason] = totals.get(reason, 0) + span.end_ms - span.start_ms
        return totals


@dataclass
class SimResult:
    """The outcome of one simulation run."""

    scenario_name: str
    seed: int
    duration_ms: int
    jobs: list[JobTrace]
    #: ``(at_ms, snapshot)`` at the start and at every change.
    device: list[tuple[int, DeviceState]]
    #: Every stop the scheduler asked for, in order: ``(at_ms, job name, reason, internal)``.
    scheduler_stops: list[tuple[int, str, StopReason, InternalStopReason]]

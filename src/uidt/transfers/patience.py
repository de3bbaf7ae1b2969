"""How many runs a transfer job spends waiting out transient trouble before it fails.

A run whose in-run retries are used up by trouble that may pass (:class:`RetryLaterError`:
network errors, timeouts, 5xx, 429, a transfer below the lowest-speed rule) does not fail the
job: the service ends it with ``job_finished(params, True)`` and the scheduler runs it again
after its backoff (30 s doubling, at most 5 h, as AOSP's ``JobSchedulerService`` computes it).
So that a dead server still ends in a clear failure, consecutive such runs *without progress*
are counted in a small state file next to the destination, ``<dest>.uidt-retry``; a run that
stored new bytes starts the count again. After :data:`MAX_IDLE_RUNS` of them (about 8.5 h of
backoff with the default policy) the job fails, its reason saying what kept failing and for
how long. The file is removed when the job ends either way. An upload is counted the same
way, in ``<source>.uidt-upload-retry`` next to the file it sends; progress there is bytes the
server acknowledged.

WorkManager counts the same thing (``runAttemptCount``); JobScheduler leaves the limit to the
app, which is where this lives.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

from uidt.transfers.checkpoint import Checkpoint, UntrustedCheckpoint

_log = logging.getLogger(__name__)

#: Consecutive runs ended by transient trouble, without a new byte, before the job fails.
MAX_IDLE_RUNS = 10

SUFFIX = ".uidt-retry"


#: The count of an upload, next to its source (a download of the same path keeps its own).
UPLOAD_SUFFIX = ".uidt-upload-retry"


def patience_path(dest: Path) -> Path:
    """Where the count of ``dest``'s download lives."""
    return dest.with_name(dest.name + SUFFIX)


def upload_patience_path(source: Path) -> Path:
    """Where the count of ``source``'s upload lives."""
    return source.with_name(source.name + UPLOAD_SUFFIX)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a run that ended in transient trouble.

    Attributes:
        give_up: Fail the job now (``reason`` says why) instead of asking to run again.
        idle_runs: Consecutive runs without progress, this one included.
        reason: The text for the job's reason or its notification.
    """

    give_up: bool
    idle_runs: int
    reason: str


def _duration(seconds: float) -> str:
    minutes = math.floor(seconds / 60)
    if minutes < 1:
        return f"{max(0, int(seconds))} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


class Patience:
    """The cross-run count of one destination.

    Args:
        dest: The download's final path.
        limit: Consecutive runs without progress allowed before the job fails.
        state: Where to keep the count instead of ``patience_path(dest)`` (an upload keeps it
            next to its source, under a name of its own).
    """

    def __init__(
        self, dest: Path, limit: int = MAX_IDLE_RUNS, *, state: Path | None = None
    ) -> None:
        self.state = Checkpoint(state if state is not None else patience_path(dest))
        self.limit = limit

    def _load(self) -> dict[str, object]:
        try:
            return self.state.load(owner_only=True) or {}
        except UntrustedCheckpoint as exc:  # planted or shared: never trust its counts
            _log.warning("ignoring %s: %s", exc.path, exc.reason)
            return {}

    def ran_out(self, reason: str, *, progressed: bool, now: float) -> Verdict:
        """Count a run that ended in transient trouble (``now``: wall-clock seconds).

        Raises:
            OSError: The count cannot be written next to the destination.
        """
        saved = {} if progressed else self._load()
        runs, since = saved.get("idle_runs"), saved.get("since")
        runs = runs + 1 if isinstance(runs, int) and not isinstance(runs, bool) and runs > 0 else 1
        since = since if isinstance(since, int | float) and since <= now else now
        if runs > self.limit:
            self.forget()
            waited = _duration(now - since)
            return Verdict(True, runs, f"{reason} (still failing after {runs} runs over {waited})")
        self.state.save({"idle_runs": runs, "since": since, "reason": reason})
        return Verdict(False, runs, reason)

    def forget(self) -> None:
        """The job ended (done or failed): remove the count."""
        try:
            self.state.remove()
        except OSError as exc:  # pragma: no cover - a directory that cannot be written
            _log.warning("cannot remove %s: %s", self.state.path, exc)

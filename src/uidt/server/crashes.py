"""The last crash of a job: which exception escaped the app's code, its message, how many times.

Android kills an app process whose code throws, and a job running in it ends as a *system stop*
(``JobSchedulerService.getRescheduleJobForFailureLocked`` counts ``numSystemStops``, not
``numFailures``), so the counters alone do not tell the user why the job keeps restarting. The
core keeps the last crash on the job (like the backoff counters, in memory only, and a fresh
schedule of the same id starts without one) and the views show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: A crash report comes from app code: its parts are cut to these lengths.
MAX_TYPE_CHARS = 200
MAX_MESSAGE_CHARS = 500


@dataclass(frozen=True, slots=True)
class LastCrash:
    """The exception that last escaped the app's code in one of the job's runs.

    Attributes:
        type: the exception's type as Python prints it (``RuntimeError``, ``pkg.mod.Error``).
        message: ``str()`` of the exception (may be empty).
        count: how many runs of this job crashed since it was scheduled.
        utc_ms: when the last one was reported (wall clock, milliseconds).
    """

    type: str
    message: str
    count: int
    utc_ms: int


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())  # one line, whatever the app put in it
    return text if len(text) <= limit else text[: limit - 1] + "…"


def note_crash(previous: LastCrash | None, exc_type: str, message: str, utc_ms: int) -> LastCrash:
    """The record after one more crash (the type and message are cut to size)."""
    return LastCrash(
        type=_cut(exc_type, MAX_TYPE_CHARS) or "Exception",
        message=_cut(message, MAX_MESSAGE_CHARS),
        count=(previous.count if previous is not None else 0) + 1,
        utc_ms=utc_ms,
    )


def crash_json(crash: LastCrash | None, iso: str | None) -> dict[str, Any] | None:
    """The ``last_crash`` object of ``uidt jobs --json`` (``iso`` is ``crash.utc_ms`` as ISO)."""
    if crash is None:
        return None
    return {"type": crash.type, "message": crash.message, "count": crash.count, "time": iso}

"""The lines ``uidt download/upload --wait`` prints about a transfer that is retrying.

A running transfer whose attempts fail says so in its notification from the first failure
(``retrying: cannot reach 127.0.0.1:9 (connection refused)``, :mod:`uidt.transfers.reporting`).
A follower prints that once, as its own line above the bar, with what the user can do::

    job 7: retrying: cannot reach 127.0.0.1:9 (connection refused) (uidt keeps trying while the
    network is up; uidt cancel 7 stops it)

and again only when the reason changes, not once per attempt. When the run gives up and the job
waits for its backoff, the single follower says so through the job's pending reasons and the
notification the run left, which the waiting job's record carries
(:func:`uidt.cli.progress.why_waiting`); a batch, which shows no such line, gets that news from
here (as does the follower when the record has no notification).
"""

from __future__ import annotations

from typing import Any

from uidt.transfers.names import RETRYING

#: What the notification text says before the reason (after an ``INSECURE`` mark, if any).
_MARK = f"{RETRYING} "
#: The states of a job that will run again (not running now, not ended).
_BETWEEN_RUNS = frozenset({"waiting", "ready", "pending"})


def retry_reason(job: dict[str, Any]) -> str | None:
    """Why the running ``job`` (a ``GET /v1/jobs`` record) is retrying, ``None`` when it is not
    (not running, or its notification shows progress)."""
    if job.get("state") != "active":
        return None
    text = str((job.get("notification") or {}).get("text") or "")
    head, mark, reason = text.partition(_MARK)
    if not mark or (head and not head.endswith(" · ")):
        return None
    return reason


class RetryLines:
    """What one follower has said of one job's retries; :meth:`news` gives the lines to print.

    Args:
        job_id: The job, for the hint (``uidt cancel JOB``).
        shows_notes: The caller says a waiting job's notification text itself (the single
            follower's why-waiting line), so a run given up is news only for a record without one.
    """

    def __init__(self, job_id: int, *, shows_notes: bool = False) -> None:
        self.job_id = job_id
        self.shows_notes = shows_notes
        #: The reason printed last in this run (``None``: none yet, or the run ended).
        self.said: str | None = None

    def news(self, job: dict[str, Any]) -> list[str]:
        """The sentences (without ``job N:``) ``job``'s record is news for: the first reason of
        a run, a changed one, and the run given up (unless the caller shows the notification the
        waiting record carries)."""
        reason = retry_reason(job)
        if reason is not None:
            if reason == self.said:
                return []
            self.said = reason
            return [
                f"{_MARK}{reason} (uidt keeps trying while the network is up; "
                f"uidt cancel {self.job_id} stops it)"
            ]
        if job.get("state") == "active":
            return []  # bytes flow again: the bar shows them
        last, self.said = self.said, None
        if last is None or job.get("state") not in _BETWEEN_RUNS:
            return []  # ended: the end says how
        if self.shows_notes and job.get("notification"):
            return []  # the follower shows the wait from the job's own notification
        return [f"this run gave up; the job waits for its delay (backoff), then retries: {last}"]

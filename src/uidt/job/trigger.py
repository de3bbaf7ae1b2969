"""A content URI trigger of a job (Android's ``JobInfo.TriggerContentUri``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TriggerContentUri:
    """A content URI whose changes would trigger the job (never allowed on user-initiated jobs)."""

    uri: str
    notify_for_descendants: bool = False

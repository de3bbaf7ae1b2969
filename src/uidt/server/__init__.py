"""The scheduler core: a pure, deterministic state machine (no I/O, no asyncio, no real time)."""

from __future__ import annotations

from uidt.server.actions import (
    Action,
    BindApp,
    CommandCompleted,
    JobStateChanged,
    KillApp,
    PersistJob,
    PostNotification,
    RecordAnr,
    RemoveJob,
    RemoveNotification,
    StartJob,
    StopJob,
    UnbindApp,
)
from uidt.server.apps import AppInfo, Caller
from uidt.server.commands import CmdResult
from uidt.server.service import RESULT_FAILURE, RESULT_SUCCESS, JobSchedulerService

__all__ = [
    "RESULT_FAILURE",
    "RESULT_SUCCESS",
    "Action",
    "AppInfo",
    "BindApp",
    "Caller",
    "CmdResult",
    "CommandCompleted",
    "JobSchedulerService",
    "JobStateChanged",
    "KillApp",
    "PersistJob",
    "PostNotification",
    "RecordAnr",
    "RemoveJob",
    "RemoveNotification",
    "StartJob",
    "StopJob",
    "UnbindApp",
]

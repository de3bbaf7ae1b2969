"""The scheduler core: a pure, deterministic state machine (no I/O, no asyncio, no real time).

The daemon feeds :class:`JobSchedulerService` events and carries out the actions it drains with
``take_actions()``; it calls ``tick()`` whenever ``clock.elapsed() >= next_wakeup()``.

Choices where the reference leaves room (documented so the shell and the tests agree):

* An ANR (no answer to ``on_start_job`` / ``on_stop_job`` in 8 s, no notification in 10 s) also
  emits ``KillApp``: the worker is killed as Android kills a background app that is not
  responding, so no orphaned job code keeps running. The bind timeout records no ANR.
* A failed bind counts as a system stop (the job would otherwise retry in a hot loop).
* A stop that only waits for a condition to come back (a lost constraint, thermal) leaves no
  backoff wait: the job starts as soon as the condition returns (docs/android-semantics.md#beyond-android).
* The stalled-transfer watchdog only watches runs that reported transferred bytes at least once;
  its stop is TIMEOUT/TIMEOUT, always rescheduled with backoff, and does not count towards the
  UIJ timeout quota.
* Concurrency uses Android's screen-off rows (no screen on a server): ``L``, ``9L/10``, ``6L/10``,
  ``4L/10`` slots and a UI reserve of .2/.2/.15/.1 for normal … critical memory pressure.
* After a Task Manager stop the app's remaining jobs are held (pending reason USER) until the
  app is visible again.
* A running job's cumulative runtime is stamped and persisted every
  ``execution_stamp_period_ms`` (5 min, Android's ``EXECUTION_DURATION_STAMP_PERIOD``).
* All of a job's work items are handed to the worker with ``StartJob``; a run that finishes
  without asking to be rescheduled consumes them.

Not modelled, deliberately: periodic jobs, expedited-job quotas, app standby buckets, Doze and
Data Saver (no such states on Linux), user background restriction (no such setting), per-package
running limits for regular jobs, the persisted-schedule rate limit,
``dequeueWork``/``completeWork`` bookkeeping, choosing low-memory victims (the daemon knows the
process sizes and calls ``host.low_memory_kill(app)``), and ``TIMEOUT_ABANDONED`` (Android 16).
"""

from __future__ import annotations

from uidt.server.actions import (
    Action,
    BindApp,
    CommandCompleted,
    JobStateChanged,
    KillApp,
    NetworkChanged,
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
    "NetworkChanged",
    "PersistJob",
    "PostNotification",
    "RecordAnr",
    "RemoveJob",
    "RemoveNotification",
    "StartJob",
    "StopJob",
    "UnbindApp",
]

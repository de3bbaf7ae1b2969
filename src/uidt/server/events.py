"""Events the core takes in, as values: the mirror of :mod:`uidt.server.actions`.

The shell hands each one to :meth:`JobSchedulerService.handle
<uidt.server.service.JobSchedulerService.handle>` and then carries out the actions it returned.
Two families:

* facts from the app host (the worker said hello, ``on_start_job`` answered, the app called
  ``job_finished``, the process died …): produced by :class:`uidt.host.apphost.AppHost` and
  re-exported by :mod:`uidt.host.events`;
* requests and changes from the daemon (a device change, a due timer, an API call).

Frozen dataclasses only: :func:`uidt.server.eventrouting.route` is the one place that routes
each onto the core method it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from uidt.device.state import DeviceState
from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.job.notification import EndPolicy, Notification
from uidt.job.reasons import Incomplete, InternalStopReason, StopReason
from uidt.job.work import JobWorkItem
from uidt.server.apps import AppInfo, Caller

if TYPE_CHECKING:
    pass

# -- facts from the app host -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bound:
    """The app's worker said hello: jobs may be started in it."""

    app: str


@dataclass(frozen=True, slots=True)
class BindFailed:
    """The app's worker could not be started (or did not say hello in time)."""

    app: str
    error: str


@dataclass(frozen=True, slots=True)
class StartResult:
    """``on_start_job`` returned ``wants_to_run``."""

    app: str
    run_id: int
    wants_to_run: bool


@dataclass(frozen=True, slots=True)
class StopResult:
    """``on_stop_job`` returned ``wants_reschedule``."""

    app: str
    run_id: int
    wants_reschedule: bool


@dataclass(frozen=True, slots=True)
class NetworkChangeHandled:
    """``on_network_changed`` returned (or the run had already ended in the worker)."""

    app: str
    run_id: int


@dataclass(frozen=True, slots=True)
class Finished:
    """The app called ``job_finished`` (``run_id`` may be a stale run's: the core ignores it).

    ``failure`` is the reason when it called ``job_failed`` instead (then ``wants_reschedule``
    is ``False``).
    """

    app: str
    run_id: int
    wants_reschedule: bool
    failure: str | None = None
    #: ``job_ended_incomplete``: how (an :class:`~uidt.job.reasons.Incomplete`) and its words.
    incomplete: tuple[Incomplete, str] | None = None


@dataclass(frozen=True, slots=True)
class NotificationSet:
    """The app called ``set_notification`` (the core may refuse it: ``InvalidJobError``)."""

    app: str
    run_id: int
    notification_id: int
    notification: Notification
    end_policy: EndPolicy


@dataclass(frozen=True, slots=True)
class BytesEstimated:
    """The app called ``update_estimated_network_bytes``."""

    app: str
    run_id: int
    download: int
    upload: int


@dataclass(frozen=True, slots=True)
class BytesTransferred:
    """The app called ``update_transferred_network_bytes``."""

    app: str
    run_id: int
    download: int
    upload: int


@dataclass(frozen=True, slots=True)
class JobCrashed:
    """An exception escaped app code for ``run_id``.

    ``phase`` is ``"import"`` (the service could not be loaded: only this start failed, the worker
    is healthy), ``"on_start_job"``, ``"on_stop_job"`` or ``"on_network_changed"``. Android kills
    a crashing app process and reschedules its jobs; the daemon decides (see ``docs/ipc.md``).
    """

    app: str
    run_id: int
    phase: str
    traceback: str
    #: The exception's type as a traceback prints it (``RuntimeError``, ``pkg.mod.Error``).
    exception_type: str = ""
    #: ``str()`` of the exception.
    message: str = ""


@dataclass(frozen=True, slots=True)
class Pong:
    """A worker answered heartbeat ``seq`` (informational: the core ignores it)."""

    app: str
    seq: int


@dataclass(frozen=True, slots=True)
class ProcessDied:
    """The app's worker is gone (end of stream, exit, kill, or a protocol violation).

    ``exit_status`` is the process's return code (negative: killed by that signal), or ``None``
    when the launcher has no process (in-process workers report 0 or ``-9``).
    """

    app: str
    exit_status: int | None


HostEvent = (
    Bound
    | BindFailed
    | StartResult
    | StopResult
    | NetworkChangeHandled
    | Finished
    | NotificationSet
    | BytesEstimated
    | BytesTransferred
    | JobCrashed
    | Pong
    | ProcessDied
)

# -- requests and changes from the daemon ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceChanged:
    """A new device snapshot (network, battery, storage, thermal, memory)."""

    state: DeviceState


@dataclass(frozen=True, slots=True)
class TimerDue:
    """``clock.elapsed()`` reached ``next_wakeup()``: run the due timers."""


@dataclass(frozen=True, slots=True)
class AppInstalled:
    """An app was installed or its grants changed."""

    info: AppInfo


@dataclass(frozen=True, slots=True)
class AppRemoved:
    """An app was uninstalled: its jobs stop and go."""

    app: str


@dataclass(frozen=True, slots=True)
class AppVisible:
    """The app became visible to the user, or stopped being visible."""

    app: str
    visible: bool


@dataclass(frozen=True, slots=True)
class Schedule:
    """``schedule`` / ``enqueue``: the one event with an answer (``RESULT_SUCCESS`` or not)."""

    caller: Caller
    namespace: str | None
    job: JobInfo
    work: JobWorkItem | None = None
    #: Reserved before the job was stored (``SchedulerCore.generations``); 0: draw one.
    generation: int = 0


@dataclass(frozen=True, slots=True)
class Cancel:
    """``cancel(job_id)``."""

    app: str
    namespace: str | None
    job_id: int


@dataclass(frozen=True, slots=True)
class CancelAll:
    """``cancel_all()`` in one namespace."""

    app: str
    namespace: str | None


@dataclass(frozen=True, slots=True)
class CancelInAllNamespaces:
    """``cancel_in_all_namespaces()``."""

    app: str


@dataclass(frozen=True, slots=True)
class UpdateConstraints:
    """A queued job's constraints or estimates changed (keys as ``update_constraints``)."""

    app: str
    namespace: str | None
    job_id: int
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UserStop:
    """The user stopped the app in the Task Manager."""

    app: str


@dataclass(frozen=True, slots=True)
class LowMemoryKill:
    """The low-memory killer chose this app's worker."""

    app: str


@dataclass(frozen=True, slots=True)
class SystemStopping:
    """The daemon began its graceful stop: from now on the core starts no job."""


@dataclass(frozen=True, slots=True)
class StopAll:
    """Stop every running job with these reasons (the daemon's graceful stop)."""

    stop_reason: StopReason
    internal_reason: InternalStopReason


@dataclass(frozen=True, slots=True)
class AppNotify:
    """The app's ``NotificationManager.notify`` (not a job's ``set_notification``)."""

    app: str
    notification_id: int
    notification: Notification


@dataclass(frozen=True, slots=True)
class AppCancelNotification:
    """The app's ``NotificationManager.cancel`` (ignored for a running UIJ's notification)."""

    app: str
    notification_id: int


@dataclass(frozen=True, slots=True)
class LeaseLost:
    """A shared store says another host holds this job's lease now: stop it here at once."""

    key: JobKey


DaemonEvent = (
    DeviceChanged
    | TimerDue
    | AppInstalled
    | AppRemoved
    | AppVisible
    | Cancel
    | CancelAll
    | CancelInAllNamespaces
    | UpdateConstraints
    | UserStop
    | LowMemoryKill
    | SystemStopping
    | StopAll
    | AppNotify
    | AppCancelNotification
    | LeaseLost
)
#: Every event :meth:`JobSchedulerService.handle` takes without an answer.
CoreEvent = HostEvent | DaemonEvent

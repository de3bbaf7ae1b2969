"""Facts the app host reports, as values, and two ways to receive them.

:class:`~uidt.host.apphost.AppHost` produces :data:`HostEvent` values and hands each to a *sink*
(a plain callable). :class:`ListenerSink` turns them into calls on a :class:`HostListener` (what
the daemon's runtime implements); :class:`EventQueue` collects them for ``async for`` (tests,
tools). A sink may refuse a :class:`NotificationSet` by raising
:class:`~uidt.errors.InvalidJobError`: the message goes back to the app, where ``set_notification``
raises it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from uidt.job.notification import EndPolicy, Notification


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


@dataclass(frozen=True, slots=True)
class NotificationSet:
    """The app called ``set_notification``."""

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
    is healthy), ``"on_start_job"``, ``"on_stop_job"`` or ``"on_network_changed"``. Android kills a crashing app process and
    reschedules its jobs; the daemon decides (see ``docs/ipc.md``).
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
    """A worker answered heartbeat ``seq``."""

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
EventSink = Callable[[HostEvent], None]


class HostListener(Protocol):
    """Facts the host reports, as method calls (the daemon's runtime forwards them to the core)."""

    def on_bound(self, app: str) -> None: ...
    def on_bind_failed(self, app: str) -> None: ...
    def on_start_job_result(self, run_id: int, wants_to_run: bool) -> None: ...
    def on_stop_job_result(self, run_id: int, wants_reschedule: bool) -> None: ...
    def on_job_finished(self, run_id: int, wants_reschedule: bool) -> None: ...
    def on_job_failed(self, run_id: int, failure: str) -> None: ...
    def on_set_notification(
        self, run_id: int, notification_id: int, notification: Notification, end_policy: EndPolicy
    ) -> None: ...
    def on_update_estimated_bytes(self, run_id: int, download: int, upload: int) -> None: ...
    def on_update_transferred_bytes(self, run_id: int, download: int, upload: int) -> None: ...
    def on_process_died(self, app: str) -> None: ...
    def on_job_crashed(
        self, app: str, run_id: int, traceback: str, exception_type: str, message: str
    ) -> None: ...


class ListenerSink:
    """An event sink that calls the matching :class:`HostListener` method."""

    def __init__(self, listener: HostListener) -> None:
        self.listener = listener

    def __call__(self, event: HostEvent) -> None:
        listener = self.listener
        match event:
            case Bound(app=app):
                listener.on_bound(app)
            case BindFailed(app=app):
                listener.on_bind_failed(app)
            case StartResult(run_id=run_id, wants_to_run=wants):
                listener.on_start_job_result(run_id, wants)
            case StopResult(run_id=run_id, wants_reschedule=wants):
                listener.on_stop_job_result(run_id, wants)
            case Finished(run_id=run_id, failure=str() as failure):
                listener.on_job_failed(run_id, failure)
            case Finished(run_id=run_id, wants_reschedule=wants):
                listener.on_job_finished(run_id, wants)
            case NotificationSet():
                listener.on_set_notification(
                    event.run_id, event.notification_id, event.notification, event.end_policy
                )
            case BytesEstimated(run_id=run_id, download=down, upload=up):
                listener.on_update_estimated_bytes(run_id, down, up)
            case BytesTransferred(run_id=run_id, download=down, upload=up):
                listener.on_update_transferred_bytes(run_id, down, up)
            case JobCrashed(app=app, run_id=run_id, traceback=text):
                listener.on_job_crashed(app, run_id, text, event.exception_type, event.message)
            case ProcessDied(app=app):
                listener.on_process_died(app)
            case Pong() | NetworkChangeHandled():
                pass  # no listener method: heartbeats and acknowledgements are informational


class EventQueue:
    """An event sink that queues events for ``async for`` / :meth:`get`.

    Args:
        check_notification: called for each :class:`NotificationSet`; raising
            ``InvalidJobError`` refuses it (the app's ``set_notification`` raises).
    """

    def __init__(self, check_notification: Callable[[NotificationSet], None] | None = None) -> None:
        self.check_notification = check_notification
        self.queue: asyncio.Queue[HostEvent] = asyncio.Queue()

    def __call__(self, event: HostEvent) -> None:
        if isinstance(event, NotificationSet) and self.check_notification is not None:
            self.check_notification(event)
        self.queue.put_nowait(event)

    async def get(self, within_s: float = 10.0) -> HostEvent:
        """The next event.

        Raises:
            TimeoutError: none came within ``within_s`` seconds.
        """
        return await asyncio.wait_for(self.queue.get(), within_s)

    async def __aiter__(self) -> AsyncIterator[HostEvent]:
        while True:
            yield await self.queue.get()

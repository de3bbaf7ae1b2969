"""``JobService``: subclass it to do a job's work (Android's ``android.app.job.JobService``).

The system calls ``on_start_job`` in the app's worker process; a user-initiated job must call
``set_notification`` within 10 s. ``on_start_job`` returns ``True`` while work goes on in the
background (call ``job_finished`` when done) or ``False`` when the work is already done.
``on_stop_job`` tells the service to stop (a constraint was lost, the device is hot, the app
cancelled); return ``True`` to be rescheduled. A Task Manager stop or a low-memory kill ends the
process *without* ``on_stop_job``: keep your transfer state on disk as you go
(:class:`uidt.transfers.Checkpoint`).

Callbacks may be plain functions or coroutines. Plain ones run in a worker thread, so a blocking
callback never stalls the worker's message loop; coroutines run on the worker's loop (so they must
not block it). The calls are safe from any thread:

* ``job_finished``, ``job_failed`` (a uidt extension: the job ends ``failed`` with a reason),
  ``job_ended_incomplete`` (a uidt extension: ended, not failed, and never read completed),
  ``update_estimated_network_bytes`` and ``update_transferred_network_bytes`` never block and
  never fail once the service is attached.
* ``set_notification`` validates locally (type, channel, policy) and raises
  :class:`~uidt.errors.InvalidJobError`. Called from a thread (a plain callback), it also waits for
  the system's answer and raises its refusal; called on the worker's loop (a coroutine callback) it
  cannot wait, so use ``await self.aset_notification(...)`` there to get the system's answer.

Stops are callbacks, as on Android: ``on_stop_job`` is called and the app's own tasks and threads
keep running until they notice. Helpers that want to end promptly can call
:meth:`JobService.raise_if_stopped`, which raises :class:`~uidt.errors.JobStopped` (a
``BaseException``, so an ``except Exception`` in app code cannot swallow it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable
from typing import Any, ClassVar, Protocol, runtime_checkable

from uidt.errors import InvalidJobError, JobStopped, UidtError
from uidt.job.notification import EndPolicy, Notification
from uidt.job.params import JobParameters
from uidt.job.reasons import Incomplete


class ServiceConnection(Protocol):
    """What a service talks to: the worker's channel to the daemon (or a foreground runner)."""

    channels: frozenset[str]

    def call(self, method: str, params: JobParameters, args: dict[str, Any]) -> None: ...


@runtime_checkable
class ReplyingConnection(Protocol):
    """A connection that can also get the system's answer to a call (the worker's)."""

    channels: frozenset[str]

    def call(self, method: str, params: JobParameters, args: dict[str, Any]) -> None: ...

    def request(
        self, method: str, params: JobParameters, args: dict[str, Any]
    ) -> concurrent.futures.Future[None]:
        """Send a call; the future fails with the system's refusal (``InvalidJobError``)."""
        ...

    def on_own_loop(self) -> bool:
        """``True`` when called on the thread running the connection's event loop."""
        ...


#: How long a thread waits in ``set_notification`` for the system's answer.
REPLY_TIMEOUT_S = 10.0


class NotAttachedError(UidtError, RuntimeError):
    """The service is not running inside a worker (no connection to the system)."""


class JobService:
    """Base class of every job service."""

    JOB_END_NOTIFICATION_POLICY_DETACH: ClassVar[int] = EndPolicy.DETACH
    JOB_END_NOTIFICATION_POLICY_REMOVE: ClassVar[int] = EndPolicy.REMOVE

    def __init__(self) -> None:
        self._connection: ServiceConnection | None = None
        self._stopped_runs: set[int] = set()

    def attach(self, connection: ServiceConnection) -> None:
        """Bind the service to its connection (done by the worker, not by apps)."""
        self._connection = connection

    def mark_stopped(self, params: JobParameters) -> None:
        """Note that the system stopped this run (done by the worker before ``on_stop_job``)."""
        self._stopped_runs.add(params.run_id)

    def raise_if_stopped(self, params: JobParameters) -> None:
        """Raise :class:`~uidt.errors.JobStopped` if the system has stopped this run.

        For helpers' loops: ``JobStopped`` is a ``BaseException`` and passes through
        ``except Exception``.
        """
        if params.run_id in self._stopped_runs:
            raise JobStopped(f"job {params.job_id} was stopped ({params.get_stop_reason().name})")

    # -- callbacks (override) ------------------------------------------------------------------

    def on_start_job(self, params: JobParameters) -> bool | Awaitable[bool]:
        """Start the job; ``True`` if work continues after returning."""
        return False

    def on_stop_job(self, params: JobParameters) -> bool | Awaitable[bool]:
        """The system stops the job (``params.get_stop_reason()``); ``True`` to reschedule."""
        return False

    def on_network_changed(self, params: JobParameters) -> Awaitable[None] | None:
        """The job's network changed and still satisfies it."""
        return None

    def on_bandwidth_limit_changed(self, params: JobParameters) -> None:
        """``params.bandwidth_limit`` changed: the run's share of the daemon's
        ``bandwidth_limit`` (a uidt addition; called on the event loop, must not block)."""
        return

    # -- calls into the system -----------------------------------------------------------------

    def _call(self, method: str, params: JobParameters, **args: Any) -> None:
        if self._connection is None:
            raise NotAttachedError(f"{type(self).__name__} is not running under uidt")
        if not isinstance(params, JobParameters):
            raise InvalidJobError("params must be the JobParameters given to on_start_job")
        self._connection.call(method, params, args)

    def job_finished(self, params: JobParameters, wants_reschedule: bool) -> None:
        """The job's work is done (``wants_reschedule``: try again later with backoff)."""
        self._call("job_finished", params, wants_reschedule=bool(wants_reschedule))

    def job_failed(self, params: JobParameters, reason: object) -> None:
        """The job's work failed for good; a uidt extension (Android has no such call).

        As ``job_finished(params, False)`` (the run ends and the job is dropped), but the job
        ends ``failed`` with ``reason`` (a string or an exception, kept as one line) in
        ``uidt jobs`` and the Task Manager, instead of ``finished``. For transient trouble
        return ``True`` from ``on_stop_job`` or call ``job_finished(params, True)`` instead.
        """
        text = str(reason) or type(reason).__name__
        self._call("job_finished", params, wants_reschedule=False, failure=text)

    def job_ended_incomplete(
        self, params: JobParameters, how: Incomplete | str, reason: object
    ) -> None:
        """The app ends the job without its work done, and not as a failure; a uidt extension.

        As ``job_finished(params, False)`` (the run ends and the job is dropped: it reads
        ``finished``), but the job never reads completed: ``uidt jobs --json`` says
        ``"completed": false`` and ``"incomplete": {"how", "reason", "bytes_done",
        "bytes_total"}``, ``--wait`` exits 1, and every view shows ``reason``. ``how`` is an
        :class:`~uidt.job.reasons.Incomplete` (``"paused"``: the user paused it, the app keeps
        what it did; ``"abandoned"``: the app gave it up).

        Raises:
            InvalidJobError: ``how`` is not an :class:`~uidt.job.reasons.Incomplete`.
        """
        try:
            kind = Incomplete(how)
        except ValueError:
            raise InvalidJobError(f"invalid way to end incomplete: {how!r}") from None
        text = str(reason) or kind.value
        self._call(
            "job_finished",
            params,
            wants_reschedule=False,
            incomplete=kind.value,
            incomplete_reason=text,
        )

    def _notification_args(
        self, notification_id: int, notification: Notification, end_policy: int
    ) -> dict[str, Any]:
        if not isinstance(notification, Notification):
            raise InvalidJobError("notification must be a uidt.Notification")
        if isinstance(notification_id, bool) or not isinstance(notification_id, int):
            raise InvalidJobError("notification_id must be an int")
        try:
            policy = EndPolicy(end_policy)
        except ValueError:
            raise InvalidJobError(f"invalid job end notification policy: {end_policy}") from None
        connection = self._connection
        # A worker's channels are the manifest's at its start; the app may create more at run
        # time (NotificationManager), and a running UIJ keeps one an update dropped: where the
        # system can answer, it decides. Only a runner without a daemon checks here.
        if (
            connection is not None
            and not isinstance(connection, ReplyingConnection)
            and notification.channel_id not in connection.channels
        ):
            raise InvalidJobError(
                f"invalid notification channel: {notification.channel_id!r} is not declared "
                "in the app's manifest"
            )
        return {
            "notification_id": notification_id,
            "notification": notification.to_dict(),
            "end_policy": int(policy),
        }

    def _notification_request(
        self, params: JobParameters, args: dict[str, Any]
    ) -> concurrent.futures.Future[None] | None:
        connection = self._connection
        if isinstance(connection, ReplyingConnection) and isinstance(params, JobParameters):
            return connection.request("set_notification", params, args)
        self._call("set_notification", params, **args)
        return None

    def set_notification(
        self,
        params: JobParameters,
        notification_id: int,
        notification: Notification,
        end_policy: int,
    ) -> None:
        """Show (or update) the job's notification; required for user-initiated jobs.

        From a thread this waits for the system's answer; on the worker's loop it does not (use
        :meth:`aset_notification` there).

        Raises:
            InvalidJobError: not a ``Notification``, an undeclared channel, or a bad policy.
        """
        args = self._notification_args(notification_id, notification, end_policy)
        future = self._notification_request(params, args)
        connection = self._connection
        if future is None or not isinstance(connection, ReplyingConnection):
            return
        if connection.on_own_loop():
            return
        try:
            future.result(timeout=REPLY_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            return

    async def aset_notification(
        self,
        params: JobParameters,
        notification_id: int,
        notification: Notification,
        end_policy: int,
    ) -> None:
        """:meth:`set_notification` for coroutines: waits for the system's answer.

        Raises:
            InvalidJobError: a local check failed or the system refused the notification.
        """
        args = self._notification_args(notification_id, notification, end_policy)
        future = self._notification_request(params, args)
        if future is not None:
            await asyncio.wrap_future(future)

    def update_estimated_network_bytes(
        self, params: JobParameters, download_bytes: int, upload_bytes: int
    ) -> None:
        """Replace the job's estimate of bytes to transfer (-1 = unknown)."""
        self._call(
            "update_estimated_bytes", params, download=int(download_bytes), upload=int(upload_bytes)
        )

    def update_transferred_network_bytes(
        self, params: JobParameters, download_bytes: int, upload_bytes: int
    ) -> None:
        """Report bytes transferred so far in this run."""
        self._call(
            "update_transferred_bytes",
            params,
            download=int(download_bytes),
            upload=int(upload_bytes),
        )

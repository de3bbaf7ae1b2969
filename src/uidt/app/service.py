"""``JobService``: subclass it to do a job's work (Android's ``android.app.job.JobService``).

The system calls ``on_start_job`` in the app's worker process; a user-initiated job must call
``set_notification`` within 10 s. ``on_start_job`` returns ``True`` while work goes on in the
background (call ``job_finished`` when done) or ``False`` when the work is already done.
``on_stop_job`` tells the service to stop (a constraint was lost, the device is hot, the app
cancelled); return ``True`` to be rescheduled. A Task Manager stop or a low-memory kill ends the
process *without* ``on_stop_job``: keep your transfer state on disk as you go
(:class:`uidt.transfers.Checkpoint`).

Callbacks may be plain functions or coroutines. Plain ones run in a worker thread, so a blocking
callback never stalls the worker's message loop. The calls (``job_finished`` …) are safe from
any thread and never block.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, ClassVar, Protocol

from uidt.errors import InvalidJobError, UidtError
from uidt.job.notification import EndPolicy, Notification
from uidt.job.params import JobParameters


class ServiceConnection(Protocol):
    """What a service talks to: the worker's channel to the daemon (or a foreground runner)."""

    channels: frozenset[str]

    def call(self, method: str, params: JobParameters, args: dict[str, Any]) -> None: ...


class NotAttachedError(UidtError, RuntimeError):
    """The service is not running inside a worker (no connection to the system)."""


class JobService:
    """Base class of every job service."""

    JOB_END_NOTIFICATION_POLICY_DETACH: ClassVar[int] = EndPolicy.DETACH
    JOB_END_NOTIFICATION_POLICY_REMOVE: ClassVar[int] = EndPolicy.REMOVE

    def __init__(self) -> None:
        self._connection: ServiceConnection | None = None

    def attach(self, connection: ServiceConnection) -> None:
        """Bind the service to its connection (done by the worker, not by apps)."""
        self._connection = connection

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

    def set_notification(
        self,
        params: JobParameters,
        notification_id: int,
        notification: Notification,
        end_policy: int,
    ) -> None:
        """Show (or update) the job's notification; required for user-initiated jobs.

        Raises:
            InvalidJobError: not a ``Notification``, an undeclared channel, or a bad policy.
        """
        if not isinstance(notification, Notification):
            raise InvalidJobError("notification must be a uidt.Notification")
        if isinstance(notification_id, bool) or not isinstance(notification_id, int):
            raise InvalidJobError("notification_id must be an int")
        try:
            policy = EndPolicy(end_policy)
        except ValueError:
            raise InvalidJobError(f"invalid job end notification policy: {end_policy}") from None
        connection = self._connection
        if connection is not None and notification.channel_id not in connection.channels:
            raise InvalidJobError(
                f"invalid notification channel: {notification.channel_id!r} is not declared "
                "in the app's manifest"
            )
        self._call(
            "set_notification",
            params,
            notification_id=notification_id,
            notification=notification.to_dict(),
            end_policy=int(policy),
        )

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

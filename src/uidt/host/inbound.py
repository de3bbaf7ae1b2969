"""A worker's messages read as the facts they report (:mod:`uidt.host.events`).

Each typed message (already checked by the decoder) becomes one event for the daemon's sink; a
``set_notification`` is validated here and answered with a ``reply`` when the app waits for one,
and a ``pong`` also releases the :meth:`~uidt.host.apphost.AppHost.ping` waiting for it. A
message a worker may not send at this point (a second hello) raises :class:`ProtocolError`, on
which the host kills the worker.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, assert_never

from uidt.errors import InvalidJobError, ProtocolError
from uidt.host.events import (
    BytesEstimated,
    BytesTransferred,
    EventSink,
    Finished,
    JobCrashed,
    NetworkChangeHandled,
    NotificationSet,
    Pong,
    StartResult,
    StopResult,
)
from uidt.host.workerhandle import WorkerHandle
from uidt.job.notification import EndPolicy, Notification
from uidt.job.reasons import Incomplete
from uidt.timing import mark

# The wire format is imported when the first message arrives (see uidt.host.apphost).
if TYPE_CHECKING:
    from uidt.host import messages as msg

log = logging.getLogger("uidt.host")


def report(worker: WorkerHandle, message: msg.FromWorker, emit: EventSink) -> None:
    """Turn one typed message into the fact it reports (already checked by the decoder)."""
    from uidt.host import messages as msg

    app = worker.app
    match message:
        case msg.StartResult(run_id=run_id, wants_to_run=wants):
            emit(StartResult(app, run_id, wants))
        case msg.StopResult(run_id=run_id, wants_reschedule=wants):
            emit(StopResult(app, run_id, wants))
        case msg.NetworkChangedDone(run_id=run_id):
            emit(NetworkChangeHandled(app, run_id))
        case msg.Crashed():
            emit(
                JobCrashed(
                    app,
                    message.run_id,
                    message.phase,
                    message.traceback,
                    message.exception_type,
                    message.message,
                )
            )
        case msg.JobFinished(run_id=run_id, wants_reschedule=wants, failure=failure):
            mark("host.job_finished")
            incomplete = _incomplete(message.incomplete, message.incomplete_reason)
            emit(Finished(app, run_id, wants and failure is None, failure, incomplete))
        case msg.SetNotification():
            _set_notification(worker, message, emit)
        case msg.UpdateEstimatedBytes(run_id=run_id, download=down, upload=up):
            emit(BytesEstimated(app, run_id, down, up))
        case msg.UpdateTransferredBytes(run_id=run_id, download=down, upload=up):
            emit(BytesTransferred(app, run_id, down, up))
        case msg.Pong(seq=seq):
            future = worker.pings.get(seq)
            if future is not None and not future.done():
                future.set_result(None)
            emit(Pong(app, seq))
        case msg.Hello():
            raise ProtocolError(f"a second hello from the worker of {app}")
        case _:
            assert_never(message)


def _set_notification(worker: WorkerHandle, message: msg.SetNotification, emit: EventSink) -> None:
    from uidt.host import messages as msg

    error: str | None = None
    try:
        notification = Notification.from_dict(message.notification)
        policy = EndPolicy(message.end_policy)
        emit(
            NotificationSet(
                worker.app, message.run_id, message.notification_id, notification, policy
            )
        )
    except (InvalidJobError, ValueError) as exc:
        error = str(exc)
        log.warning("set_notification of run %d refused: %s", message.run_id, exc)
    if message.request_id is not None:
        worker.send(msg.Reply(message.request_id, error))


def _incomplete(how: str | None, reason: str | None) -> tuple[Incomplete, str] | None:
    """``job_ended_incomplete``'s how and words (an unknown how reads abandoned)."""
    if how is None:
        return None
    try:
        kind = Incomplete(how)
    except ValueError:
        kind = Incomplete.ABANDONED
    return kind, reason or kind.value

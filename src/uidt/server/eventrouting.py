"""The one place that routes each event value (:mod:`uidt.server.events`) onto the core method
it stands for: :func:`route`, behind :meth:`JobSchedulerService.handle
<uidt.server.service.JobSchedulerService.handle>`.

The match is exhaustive (``mypy`` checks it with ``assert_never``): a new event type that is not
routed is a type error, not a silently dropped fact. The core's ``on_*`` methods stay as they are;
this only routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never, overload

from uidt.job.reasons import InternalStopReason, StopReason
from uidt.server.events import (
    AppCancelNotification,
    AppInstalled,
    AppNotify,
    AppRemoved,
    AppVisible,
    BindFailed,
    Bound,
    BytesEstimated,
    BytesTransferred,
    Cancel,
    CancelAll,
    CancelInAllNamespaces,
    CoreEvent,
    DeviceChanged,
    Finished,
    JobCrashed,
    LeaseLost,
    LowMemoryKill,
    NetworkChangeHandled,
    NotificationSet,
    Pong,
    ProcessDied,
    Schedule,
    StartResult,
    StopAll,
    StopResult,
    SystemStopping,
    TimerDue,
    UpdateConstraints,
    UserStop,
)

if TYPE_CHECKING:
    from uidt.server.service import JobSchedulerService


@overload
def route(core: JobSchedulerService, event: Schedule) -> int: ...
@overload
def route(core: JobSchedulerService, event: CoreEvent) -> None: ...
def route(core: JobSchedulerService, event: CoreEvent | Schedule) -> int | None:
    """Hand ``event`` to the core; the result of a :class:`~uidt.server.events.Schedule`.

    Raises:
        whatever the core method raises (``InvalidJobError`` for a refused notification or
        schedule, ``JobLimitError`` …); the actions queued so far stay queued.
    """
    match event:
        # facts from the app host
        case Bound(app=app):
            core.host.on_bound(app)
        case BindFailed(app=app):
            core.host.on_bind_failed(app)
        case StartResult(run_id=run_id, wants_to_run=wants):
            core.host.on_start_job_result(run_id, wants)
        case StopResult(run_id=run_id, wants_reschedule=wants):
            core.host.on_stop_job_result(run_id, wants)
        case Finished(run_id=run_id, failure=str() as failure):
            core.host.on_job_failed(run_id, failure)
        case Finished(run_id=run_id, wants_reschedule=wants, incomplete=incomplete):
            core.host.on_job_finished(run_id, wants, incomplete)
        case NotificationSet():
            core.host.on_set_notification(
                event.run_id, event.notification_id, event.notification, event.end_policy
            )
        case BytesEstimated(run_id=run_id, download=down, upload=up):
            core.host.on_update_estimated_bytes(run_id, down, up)
        case BytesTransferred(run_id=run_id, download=down, upload=up):
            core.host.on_update_transferred_bytes(run_id, down, up)
        case JobCrashed(run_id=run_id, exception_type=kind, message=message):
            core.host.on_job_crashed(run_id, kind, message)
        case ProcessDied(app=app):
            core.host.on_process_died(app)
        case Pong() | NetworkChangeHandled():
            pass  # heartbeats and acknowledgements: nothing for the core to decide
        # requests and changes from the daemon
        case Schedule(caller=caller, namespace=namespace, job=job, work=work, generation=gen):
            return core.schedule(caller, namespace, job, work, gen)
        case DeviceChanged(state=state):
            core.on_device_state(state)
        case TimerDue():
            core.tick()
        case AppInstalled(info=info):
            core.set_app(info)
        case AppRemoved(app=app):
            core.remove_app(app)
        case AppVisible(app=app, visible=visible):
            core.note_app_visible(app, visible)
        case Cancel(app=app, namespace=namespace, job_id=job_id):
            core.cancel(app, namespace, job_id)
        case CancelAll(app=app, namespace=namespace):
            core.cancel_all(app, namespace)
        case CancelInAllNamespaces(app=app):
            core.cancel_in_all_namespaces(app)
        case UpdateConstraints(app=app, namespace=namespace, job_id=job_id, changes=changes):
            core.update_constraints(app, namespace, job_id, **changes)
        case UserStop(app=app):
            core.user_stop(app)
        case LowMemoryKill(app=app):
            core.host.low_memory_kill(app)
        case SystemStopping():
            core.commands.system_stopping()
        case StopAll(stop_reason=reason, internal_reason=internal):
            core.commands.stop(stop_reason=reason, internal_reason=internal)
        case AppNotify(app=app, notification_id=nid, notification=notification):
            core.notification_manager.notify(app, nid, notification)
        case AppCancelNotification(app=app, notification_id=nid):
            core.notification_manager.cancel(app, nid)
        case LeaseLost(key=key):  # stopped with SYSTEM_PROCESSING: docs/fleet.md says why
            core.cancel_job(
                key, StopReason.SYSTEM_PROCESSING, InternalStopReason.CANCELED, moved=True
            )
        case _:
            assert_never(event)
    return None

"""One entry into the core: an event value in, the matching core method called.

:func:`handle` is what :meth:`JobSchedulerService.handle
<uidt.server.service.JobSchedulerService.handle>` runs. The match is exhaustive (``mypy`` checks
it with ``assert_never``): a new event type that is not handled here is a type error, not a
silently dropped fact. The core's ``on_*`` methods stay as they are; this only routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never, overload

from uidt.server import events as ev

if TYPE_CHECKING:
    from uidt.server.service import JobSchedulerService


@overload
def handle(core: JobSchedulerService, event: ev.Schedule) -> int: ...
@overload
def handle(core: JobSchedulerService, event: ev.CoreEvent) -> None: ...
def handle(core: JobSchedulerService, event: ev.CoreEvent | ev.Schedule) -> int | None:
    """Hand ``event`` to the core; the result of a :class:`~uidt.server.events.Schedule`.

    Raises:
        whatever the core method raises (``InvalidJobError`` for a refused notification or
        schedule, ``JobLimitError`` …); the actions queued so far stay queued.
    """
    match event:
        # facts from the app host
        case ev.Bound(app=app):
            core.on_bound(app)
        case ev.BindFailed(app=app):
            core.on_bind_failed(app)
        case ev.StartResult(run_id=run_id, wants_to_run=wants):
            core.on_start_job_result(run_id, wants)
        case ev.StopResult(run_id=run_id, wants_reschedule=wants):
            core.on_stop_job_result(run_id, wants)
        case ev.Finished(run_id=run_id, failure=str() as failure):
            core.on_job_failed(run_id, failure)
        case ev.Finished(run_id=run_id, wants_reschedule=wants):
            core.on_job_finished(run_id, wants)
        case ev.NotificationSet():
            core.on_set_notification(
                event.run_id, event.notification_id, event.notification, event.end_policy
            )
        case ev.BytesEstimated(run_id=run_id, download=down, upload=up):
            core.on_update_estimated_bytes(run_id, down, up)
        case ev.BytesTransferred(run_id=run_id, download=down, upload=up):
            core.on_update_transferred_bytes(run_id, down, up)
        case ev.JobCrashed(run_id=run_id, exception_type=kind, message=message):
            core.on_job_crashed(run_id, kind, message)
        case ev.ProcessDied(app=app):
            core.on_process_died(app)
        case ev.Pong() | ev.NetworkChangeHandled():
            pass  # heartbeats and acknowledgements: nothing for the core to decide
        # requests and changes from the daemon
        case ev.Schedule(caller=caller, namespace=namespace, job=job, work=work):
            return core.schedule(caller, namespace, job, work)
        case ev.DeviceChanged(state=state):
            core.on_device_state(state)
        case ev.TimerDue():
            core.tick()
        case ev.AppInstalled(info=info):
            core.set_app(info)
        case ev.AppRemoved(app=app):
            core.remove_app(app)
        case ev.AppVisible(app=app, visible=visible):
            core.note_app_visible(app, visible)
        case ev.Cancel(app=app, namespace=namespace, job_id=job_id):
            core.cancel(app, namespace, job_id)
        case ev.CancelAll(app=app, namespace=namespace):
            core.cancel_all(app, namespace)
        case ev.CancelInAllNamespaces(app=app):
            core.cancel_in_all_namespaces(app)
        case ev.UpdateConstraints(app=app, namespace=namespace, job_id=job_id, changes=changes):
            core.update_constraints(app, namespace, job_id, **changes)
        case ev.UserStop(app=app):
            core.user_stop(app)
        case ev.LowMemoryKill(app=app):
            core.low_memory_kill(app)
        case ev.StopAll(stop_reason=reason, internal_reason=internal):
            core.cmd_stop(stop_reason=reason, internal_reason=internal)
        case _:
            assert_never(event)
    return None

"""Background restriction (Android's ``BackgroundJobsController``, app-op RUN_ANY_IN_BACKGROUND).

A user-restricted app's jobs, user-initiated ones too, run only while the app is visible (TOP);
leaving the foreground or becoming restricted stops them with BACKGROUND_RESTRICTION (11), and
they wait with the pending reason BACKGROUND_RESTRICTION (3) until the app is visible again or
unrestricted.
"""

from __future__ import annotations

import dataclasses

from server.helpers import APP, BACKGROUND, VISIBLE, make_app, of_type, regular, started, uij
from uidt.device.state import DeviceState
from uidt.job import InternalStopReason, PendingReason, StopReason
from uidt.job.key import JobKey
from uidt.server import (
    JobSchedulerService,
    PostNotification,
    RemoveNotification,
    StartJob,
    StopJob,
)
from uidt.server.apps import RUN_ANY_IN_BACKGROUND
from uidt.server.controllers import background_bits
from uidt.server.status import Bit, JobStatus, Override
from uidt.testing import AppBehaviour, InProcessApps, run_until_idle

KEY = JobKey(APP, None, 1)
RESTRICTED = make_app(revoked=frozenset({RUN_ANY_IN_BACKGROUND}))
ALLOWED = make_app()


def restrict(service: JobSchedulerService, restricted: bool = True) -> None:
    service.set_app(RESTRICTED if restricted else ALLOWED)


def test_the_bit_is_granted_unless_restricted_and_not_visible() -> None:
    assert background_bits(restricted=False, app_visible=False) == Bit.BACKGROUND_NOT_RESTRICTED
    assert background_bits(restricted=True, app_visible=True) == Bit.BACKGROUND_NOT_RESTRICTED
    assert background_bits(restricted=True, app_visible=False) == Bit.NONE


def test_every_job_requires_it_and_no_override_lifts_it() -> None:
    status = JobStatus(KEY, regular(), enqueue_elapsed=0)
    assert status.required & Bit.BACKGROUND_NOT_RESTRICTED
    status.satisfied = status.required & ~Bit.BACKGROUND_NOT_RESTRICTED
    for override in Override:
        status.override = override
        assert status.unsatisfied() == Bit.BACKGROUND_NOT_RESTRICTED


def test_app_info_reads_the_app_op() -> None:
    assert RESTRICTED.background_restricted
    assert not ALLOWED.background_restricted


def test_restricted_uid_state(service: JobSchedulerService) -> None:
    """CTS testRestrictedUidState: scheduled while TOP it runs; leaving TOP stops it with 11."""
    restrict(service)
    service.note_app_visible(APP, True)
    run_id = started(service)
    service.note_app_visible(APP, False)
    (stop,) = of_type(service.take_actions(), StopJob)
    assert stop == StopJob(
        run_id,
        KEY,
        StopReason.BACKGROUND_RESTRICTION,
        InternalStopReason.CONSTRAINTS_NOT_SATISFIED,
    )
    service.host.on_stop_job_result(run_id, True)
    assert service.queries.get_pending_job_reasons(APP, None, 1) == [
        PendingReason.BACKGROUND_RESTRICTION
    ]
    (status,) = service.jobs.values()
    assert status.last_stop_reason == StopReason.BACKGROUND_RESTRICTION


def test_restricted_bal_to_top(service: JobSchedulerService) -> None:
    """CTS testRestrictedBalToTop: scheduled with a background-start grant, it waits for TOP."""
    service.set_app(
        make_app(
            revoked=frozenset({RUN_ANY_IN_BACKGROUND}),
            granted=frozenset({"START_FROM_BACKGROUND"}),
        )
    )
    apps = InProcessApps(service, lambda _key: AppBehaviour())
    assert service.schedule(BACKGROUND, None, uij()) == 1
    assert not of_type(run_until_idle(service, apps), StartJob)
    assert service.queries.get_pending_job_reason(APP, None, 1) is (
        PendingReason.BACKGROUND_RESTRICTION
    )
    service.note_app_visible(APP, True)
    assert of_type(run_until_idle(service, apps), StartJob)


def test_restricted_toggling(service: JobSchedulerService) -> None:
    """CTS testRestrictedToggling: restricted while running in the background → 11; unrestricted
    → it runs again."""
    apps = InProcessApps(service, lambda _key: AppBehaviour())
    service.schedule(VISIBLE, None, uij())
    run_until_idle(service, apps)
    assert service.queries.get_pending_job_reason(APP, None, 1) is PendingReason.EXECUTING
    restrict(service)
    actions = service.take_actions()
    (stop,) = of_type(actions, StopJob)
    assert stop.stop_reason is StopReason.BACKGROUND_RESTRICTION
    for action in actions:
        apps(action)
    actions = run_until_idle(service, apps)
    assert not of_type(actions, StartJob)
    # Android removes the job's notification on a background-restriction stop
    assert of_type(actions, RemoveNotification)
    assert service.queries.get_pending_job_reason(APP, None, 1) is (
        PendingReason.BACKGROUND_RESTRICTION
    )
    restrict(service, False)
    actions = run_until_idle(service, apps)
    assert of_type(actions, StartJob)
    assert of_type(actions, PostNotification)


def test_restricted_top_to_bg(service: JobSchedulerService) -> None:
    """CTS testRestrictedTopToBg: restricted, visible, running; the app leaves → stopped (11)."""
    restrict(service)
    service.note_app_visible(APP, True)
    apps = InProcessApps(service, lambda _key: AppBehaviour())
    service.schedule(VISIBLE, None, uij())
    run_until_idle(service, apps)
    service.note_app_visible(APP, False)
    actions = service.take_actions()
    assert [s.stop_reason for s in of_type(actions, StopJob)] == [StopReason.BACKGROUND_RESTRICTION]
    for action in actions:
        apps(action)
    run_until_idle(service, apps)
    service.note_app_visible(APP, True)
    assert of_type(run_until_idle(service, apps), StartJob)


def test_regular_jobs_are_restricted_too(service: JobSchedulerService) -> None:
    restrict(service)
    service.schedule(BACKGROUND, None, regular())
    assert not of_type(service.take_actions(), StartJob)
    assert service.queries.get_pending_job_reason(APP, None, 1) is (
        PendingReason.BACKGROUND_RESTRICTION
    )


def test_reported_before_the_other_reasons(service: JobSchedulerService) -> None:
    restrict(service)
    service.on_device_state(DeviceState(charging=False))
    service.schedule(BACKGROUND, None, regular(requires_charging=True))
    assert service.queries.get_pending_job_reasons(APP, None, 1) == [
        PendingReason.BACKGROUND_RESTRICTION,
        PendingReason.CONSTRAINT_CHARGING,
    ]


def test_cmd_run_force_does_not_lift_it(service: JobSchedulerService) -> None:
    """Android's ``cmd jobscheduler run -f`` overrides only the job's own constraints."""
    restrict(service)
    service.schedule(BACKGROUND, None, regular())
    result = service.commands.run(APP, None, 1, force=True)
    assert result.code != 0
    assert not of_type(service.take_actions(), StartJob)


def test_other_apps_are_not_affected(service: JobSchedulerService) -> None:
    other = dataclasses.replace(ALLOWED, package="org.example.other")
    service.set_app(other)
    restrict(service)
    assert service.registry.is_background_restricted(APP)
    assert not service.registry.is_background_restricted(other.package)

"""Event values and ``JobSchedulerService.handle``: each reaches the core method it stands for."""

from __future__ import annotations

import typing
from typing import Any

import pytest

from server.helpers import APP, VISIBLE, make_app, started, uij
from uidt.device.state import DeviceState
from uidt.errors import InvalidJobError
from uidt.job.key import JobKey
from uidt.job.notification import EndPolicy, Notification
from uidt.job.reasons import Incomplete, InternalStopReason, StopReason
from uidt.server import RESULT_SUCCESS, JobSchedulerService
from uidt.server import events as ev
from uidt.server.eventrouting import route

NOTE = Notification("work", "t")
INFO = make_app()
STATE = DeviceState(charging=True)
JOB = uij()


class Recorder:
    """Stands in for the core: records each method called and its arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        if name in (
            "commands",
            "queries",
            "host",
            "notification_manager",
        ):  # facets: their calls read "commands.stop"
            return _Facet(self, name)

        def record(*args: Any, **kwargs: Any) -> int:
            self.calls.append((name, *args, *sorted(kwargs.items())))
            return 7

        return record


class _Facet:
    def __init__(self, recorder: Recorder, name: str) -> None:
        self._recorder, self._name = recorder, name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._recorder, f"{self._name}.{name}")


EXPECTED: list[tuple[Any, tuple[Any, ...] | None]] = [
    (ev.Bound("a"), ("host.on_bound", "a")),
    (ev.BindFailed("a", "no python"), ("host.on_bind_failed", "a")),
    (ev.StartResult("a", 1, True), ("host.on_start_job_result", 1, True)),
    (ev.StopResult("a", 1, False), ("host.on_stop_job_result", 1, False)),
    (ev.Finished("a", 1, True), ("host.on_job_finished", 1, True, None)),
    (
        ev.Finished("a", 3, False, None, (Incomplete.PAUSED, "paused at 1 MiB")),
        ("host.on_job_finished", 3, False, (Incomplete.PAUSED, "paused at 1 MiB")),
    ),
    (ev.Finished("a", 2, False, "HTTP 404"), ("host.on_job_failed", 2, "HTTP 404")),
    (
        ev.NotificationSet("a", 1, 7, NOTE, EndPolicy.REMOVE),
        ("host.on_set_notification", 1, 7, NOTE, EndPolicy.REMOVE),
    ),
    (ev.BytesEstimated("a", 1, 10, -1), ("host.on_update_estimated_bytes", 1, 10, -1)),
    (ev.BytesTransferred("a", 1, 5, 0), ("host.on_update_transferred_bytes", 1, 5, 0)),
    (
        ev.JobCrashed("a", 1, "on_start_job", "Traceback", "ValueError", "bad"),
        ("host.on_job_crashed", 1, "ValueError", "bad"),
    ),
    (ev.ProcessDied("a", -9), ("host.on_process_died", "a")),
    (ev.Pong("a", 3), None),
    (ev.NetworkChangeHandled("a", 3), None),
    (ev.DeviceChanged(STATE), ("on_device_state", STATE)),
    (ev.TimerDue(), ("tick",)),
    (ev.AppInstalled(INFO), ("set_app", INFO)),
    (ev.AppRemoved("a"), ("remove_app", "a")),
    (ev.AppVisible("a", False), ("note_app_visible", "a", False)),
    (ev.Schedule(VISIBLE, "n", JOB), ("schedule", VISIBLE, "n", JOB, None, 0)),
    (ev.Schedule(VISIBLE, "n", JOB, None, 7), ("schedule", VISIBLE, "n", JOB, None, 7)),
    (ev.Cancel("a", "n", 4), ("cancel", "a", "n", 4)),
    (ev.CancelAll("a", "n"), ("cancel_all", "a", "n")),
    (ev.CancelInAllNamespaces("a"), ("cancel_in_all_namespaces", "a")),
    (
        ev.UpdateConstraints("a", None, 4, {"requires_charging": True}),
        ("update_constraints", "a", None, 4, ("requires_charging", True)),
    ),
    (ev.UserStop("a"), ("user_stop", "a")),
    (ev.LowMemoryKill("a"), ("host.low_memory_kill", "a")),
    (ev.SystemStopping(), ("commands.system_stopping",)),
    (
        ev.LeaseLost(JobKey("a", None, 4)),
        (
            "cancel_job",
            JobKey("a", None, 4),
            StopReason.SYSTEM_PROCESSING,
            InternalStopReason.CANCELED,
            ("moved", True),
        ),
    ),
    (
        ev.StopAll(StopReason.DEVICE_STATE, InternalStopReason.UNKNOWN),
        (
            "commands.stop",
            ("internal_reason", InternalStopReason.UNKNOWN),
            ("stop_reason", StopReason.DEVICE_STATE),
        ),
    ),
    (ev.AppNotify("a", 3, NOTE), ("notification_manager.notify", "a", 3, NOTE)),
    (ev.AppCancelNotification("a", 3), ("notification_manager.cancel", "a", 3)),
]


@pytest.mark.parametrize(("event", "call"), EXPECTED, ids=lambda v: type(v).__name__)
def test_each_event_calls_its_core_method(event: Any, call: tuple[Any, ...] | None) -> None:
    recorder = Recorder()
    route(recorder, event)  # type: ignore[arg-type]
    assert recorder.calls == ([] if call is None else [call])


def test_every_event_type_is_covered_here() -> None:
    types = set(typing.get_args(ev.CoreEvent)) | {ev.Schedule}
    assert {type(event) for event, _ in EXPECTED} == types


def test_an_unknown_value_is_refused() -> None:
    with pytest.raises(AssertionError):
        route(Recorder(), object())  # type: ignore[arg-type, call-overload]


def test_schedule_answers_through_handle(service: JobSchedulerService) -> None:
    assert service.handle(ev.Schedule(VISIBLE, None, uij(3))) == RESULT_SUCCESS
    assert service.queries.get_pending_job(APP, None, 3) is not None


def test_a_failure_fact_ends_the_job_failed(service: JobSchedulerService) -> None:
    run_id = started(service)
    assert service.handle(ev.Finished(APP, run_id, False, "HTTP 404 Not Found")) is None
    assert service.ended[-1]["state"] == "failed"


def test_a_refused_notification_raises_from_handle(service: JobSchedulerService) -> None:
    run_id = started(service)
    with pytest.raises(InvalidJobError):
        service.handle(
            ev.NotificationSet(APP, run_id, 1, Notification("undeclared", "t"), EndPolicy.REMOVE)
        )


def test_the_host_reports_the_core_s_own_event_values() -> None:
    from uidt.host import events as host_events

    assert host_events.Finished is ev.Finished
    assert set(typing.get_args(host_events.HostEvent)) == set(typing.get_args(ev.HostEvent))

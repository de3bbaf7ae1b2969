"""JobService: constants, local checks, the connection seam, and JobStopped."""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

import pytest

from uidt import JobParameters, JobService, Notification
from uidt.app.service import NotAttachedError, ReplyingConnection
from uidt.errors import InvalidJobError, JobStopped, UidtError
from uidt.job.reasons import Incomplete, StopReason


class Recording:
    """A ServiceConnection that records calls and answers requests with ``refusal``."""

    def __init__(self, refusal: str | None = None) -> None:
        self.channels = frozenset({"work"})
        self.calls: list[tuple[str, int, dict[str, Any]]] = []
        self.refusal = refusal
        self.loop_thread: int | None = None

    def call(self, method: str, params: JobParameters, args: dict[str, Any]) -> None:
        self.calls.append((method, params.run_id, args))

    def request(
        self, method: str, params: JobParameters, args: dict[str, Any]
    ) -> concurrent.futures.Future[None]:
        self.call(method, params, args)
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        if self.refusal is None:
            future.set_result(None)
        else:
            future.set_exception(InvalidJobError(self.refusal))
        return future

    def on_own_loop(self) -> bool:
        return threading.get_ident() == self.loop_thread


def _service(connection: Any) -> JobService:
    service = JobService()
    service.attach(connection)
    return service


PARAMS = JobParameters(job_id=4, run_id=9, user_initiated=True)
NOTE = Notification("work", "title")


def test_constants_keep_androids_values() -> None:
    assert JobService.JOB_END_NOTIFICATION_POLICY_DETACH == 0
    assert JobService.JOB_END_NOTIFICATION_POLICY_REMOVE == 1


def test_default_callbacks() -> None:
    service = JobService()
    assert service.on_start_job(PARAMS) is False
    assert service.on_stop_job(PARAMS) is False
    assert service.on_network_changed(PARAMS) is None


def test_calls_outside_a_worker_fail_clearly() -> None:
    with pytest.raises(NotAttachedError, match="not running under uidt") as info:
        JobService().job_finished(PARAMS, False)
    assert isinstance(info.value, UidtError)
    assert isinstance(info.value, RuntimeError)


def test_calls_carry_the_run_id() -> None:
    connection = Recording()
    service = _service(connection)
    service.job_finished(PARAMS, True)
    service.update_estimated_network_bytes(PARAMS, 10, -1)
    service.update_transferred_network_bytes(PARAMS, 5, 0)
    service.set_notification(PARAMS, 3, NOTE, JobService.JOB_END_NOTIFICATION_POLICY_REMOVE)
    assert connection.calls == [
        ("job_finished", 9, {"wants_reschedule": True}),
        ("update_estimated_bytes", 9, {"download": 10, "upload": -1}),
        ("update_transferred_bytes", 9, {"download": 5, "upload": 0}),
        (
            "set_notification",
            9,
            {"notification_id": 3, "notification": NOTE.to_dict(), "end_policy": 1},
        ),
    ]


def test_job_failed_ends_the_run_with_its_reason() -> None:
    connection = Recording()
    service = _service(connection)
    service.job_failed(PARAMS, "HTTP 404 Not Found")
    service.job_failed(PARAMS, ValueError("bad checksum"))
    service.job_failed(PARAMS, TimeoutError())
    assert connection.calls == [
        ("job_finished", 9, {"wants_reschedule": False, "failure": "HTTP 404 Not Found"}),
        ("job_finished", 9, {"wants_reschedule": False, "failure": "bad checksum"}),
        ("job_finished", 9, {"wants_reschedule": False, "failure": "TimeoutError"}),
    ]
    with pytest.raises(NotAttachedError):
        JobService().job_failed(PARAMS, "x")


def test_job_ended_incomplete_ends_the_run_saying_how_and_why() -> None:
    connection = Recording()
    service = _service(connection)
    service.job_ended_incomplete(PARAMS, Incomplete.PAUSED, "paused at 1 MiB")
    service.job_ended_incomplete(PARAMS, "abandoned", "")
    assert connection.calls == [
        (
            "job_finished",
            9,
            {
                "wants_reschedule": False,
                "incomplete": "paused",
                "incomplete_reason": "paused at 1 MiB",
            },
        ),
        (
            "job_finished",
            9,
            {
                "wants_reschedule": False,
                "incomplete": "abandoned",
                "incomplete_reason": "abandoned",
            },
        ),
    ]
    with pytest.raises(InvalidJobError, match="invalid way to end incomplete: 'done'"):
        service.job_ended_incomplete(PARAMS, "done", "x")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((1, "not a notification", 0), "must be a uidt.Notification"),
        ((True, NOTE, 0), "notification_id must be an int"),
        ((1, NOTE, 2), "invalid job end notification policy: 2"),
    ],
)
def test_set_notification_checks_locally(args: tuple[Any, ...], match: str) -> None:
    connection = Recording()
    with pytest.raises(InvalidJobError, match=match):
        _service(connection).set_notification(PARAMS, *args)
    assert connection.calls == []


class NoDaemon:
    """A connection that cannot ask the system (the foreground runner's)."""

    def __init__(self) -> None:
        self.channels = frozenset({"work"})
        self.calls: list[tuple[str, int, dict[str, Any]]] = []

    def call(self, method: str, params: JobParameters, args: dict[str, Any]) -> None:
        self.calls.append((method, params.run_id, args))


def test_without_a_daemon_the_channel_is_checked_locally() -> None:
    connection = NoDaemon()
    with pytest.raises(InvalidJobError, match="invalid notification channel: 'other'"):
        _service(connection).set_notification(PARAMS, 1, Notification("other", "t"), 0)
    assert connection.calls == []


def test_a_worker_asks_the_daemon_about_a_channel_its_manifest_did_not_declare() -> None:
    """The app may have created it at run time, or a running UIJ keeps it after an update."""
    connection = Recording()
    _service(connection).set_notification(PARAMS, 1, Notification("created", "t"), 0)
    assert [c[0] for c in connection.calls] == ["set_notification"]
    refused = Recording(refusal="invalid notification channel: 'created'")
    with pytest.raises(InvalidJobError, match="invalid notification channel: 'created'"):
        _service(refused).set_notification(PARAMS, 1, Notification("created", "t"), 0)


def test_params_must_be_job_parameters() -> None:
    with pytest.raises(InvalidJobError, match="JobParameters"):
        _service(Recording()).job_finished("params", False)  # type: ignore[arg-type]


def test_a_refusal_reaches_a_thread_caller() -> None:
    assert isinstance(Recording(), ReplyingConnection)
    service = _service(Recording(refusal="invalid notification channel: x"))
    with pytest.raises(InvalidJobError, match="invalid notification channel: x"):
        service.set_notification(PARAMS, 1, NOTE, 0)


async def test_a_refusal_reaches_a_coroutine_through_aset_notification() -> None:
    connection = Recording(refusal="no")
    connection.loop_thread = threading.get_ident()
    service = _service(connection)
    service.set_notification(PARAMS, 1, NOTE, 0)  # on the loop: cannot wait, does not raise
    with pytest.raises(InvalidJobError, match="no"):
        await service.aset_notification(PARAMS, 1, NOTE, 0)


async def test_aset_notification_on_a_plain_connection() -> None:
    class Plain:
        def __init__(self) -> None:
            self.channels = frozenset({"work"})
            self.calls: list[str] = []

        def call(self, method: str, params: JobParameters, args: dict[str, Any]) -> None:
            self.calls.append(method)

    connection = Plain()
    await _service(connection).aset_notification(PARAMS, 1, NOTE, 0)
    assert connection.calls == ["set_notification"]


def test_job_stopped_escapes_except_exception() -> None:
    service = _service(Recording())
    params = JobParameters(job_id=4, run_id=9)
    service.raise_if_stopped(params)  # not stopped: nothing
    params.stop_reason = StopReason.USER
    service.mark_stopped(params)
    caught = ""
    try:
        try:
            service.raise_if_stopped(params)
        except Exception:
            caught = "Exception"
    except JobStopped as exc:
        caught = str(exc)
    assert caught == "job 4 was stopped (USER)"
    other = JobParameters(job_id=4, run_id=10)
    service.raise_if_stopped(other)

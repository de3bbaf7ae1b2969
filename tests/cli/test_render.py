"""``uidt jobs``'s table: what a row says about a job."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from uidt.cli.render import fleet_table, jobs_table
from uidt.job.reasons import crash_text


def _text(jobs: list[dict[str, Any]]) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(jobs_table(jobs))
    return console.export_text()


def _job(**changes: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "app": "org.example.photos",
        "namespace": None,
        "job_id": 7,
        "state": "waiting",
        "pending_reasons": [9],
        "stop_reason": 0,
        "internal_stop_reason": -1,
        "history": [],
        "last_crash": None,
    }
    job.update(changes)
    return job


def test_a_job_that_keeps_crashing_says_why() -> None:
    crash = {
        "type": "RuntimeError",
        "message": "boom",
        "count": 3,
        "time": "2026-11-30T16:00:00+00:00",
    }
    text = _text([_job(last_crash=crash)])
    assert "last crash: RuntimeError: boom (3 times)" in text
    assert "waiting for its delay" in text


def test_a_job_without_a_crash_shows_none() -> None:
    assert "crash" not in _text([_job()])
    assert "crash" not in _text([_job(last_crash=None, state="active")])
    # a snapshot from an older daemon has no last_crash at all
    old = _job()
    del old["last_crash"]
    assert "crash" not in _text([old])


def test_crash_text() -> None:
    assert crash_text(None) is None
    assert crash_text({"type": "ValueError", "message": "", "count": 1}) == "ValueError"
    assert crash_text({"type": "", "message": "m", "count": 2}) == "Exception: m (2 times)"


def test_an_ended_job_waits_for_nothing() -> None:
    # an ended record keeps the pending reasons of its last moment ("running"): not shown
    for state in ("user-stopped", "failed", "finished"):
        assert "running" not in _text([_job(state=state, pending_reasons=[-1])])
    assert "running" in _text([_job(state="waiting", pending_reasons=[-1])])


def _ended(state: str, **fields: Any) -> dict[str, Any]:
    return {
        "app": "uidt.transfers",
        "namespace": None,
        "job_id": 7,
        "state": state,
        "stop_reason": 0,
        "internal_stop_reason": 10,
        "history": [{"time": None, "state": state, "reason": ""}],
        **fields,
    }


def test_a_failed_job_shows_its_reason_not_a_successful_finish() -> None:
    text = _text([_ended("failed", failure="HTTP 404 Not Found")])
    assert "failed: HTTP 404 Not Found" in text
    assert "SUCCESSFUL_FINISH" not in text


def test_a_finished_job_shows_no_stop_it_never_had() -> None:
    text = _text([_ended("finished", failure=None)])
    assert "SUCCESSFUL_FINISH" not in text
    assert "last stop:" not in text


def test_a_job_that_asked_to_retry_says_so_not_a_stop_reason() -> None:
    text = _text([_ended("waiting", failure=None, pending_reasons=[])])
    assert "last run: asked to retry" in text
    assert "SUCCESSFUL_FINISH" not in text


def test_a_job_stopped_by_the_system_keeps_its_last_stop() -> None:
    text = _text([_ended("waiting", stop_reason=4, internal_stop_reason=1, pending_reasons=[])])
    assert "DEVICE_STATE (CONSTRAINTS_NOT_SATISFIED)" in text


def test_a_failure_reason_is_not_read_as_markup() -> None:
    text = _text([_ended("failed", failure="[bold]HTTP 500[/bold]")])
    assert "failed: [bold]HTTP 500[/bold]" in text


def test_a_job_that_does_not_check_the_certificate_is_marked() -> None:
    assert "INSECURE" in _text([_job(insecure=True)])
    assert "INSECURE" not in _text([_job(insecure=False), _job()])


# -- a job the system stopped and the app did not ask back ------------------------------------


def _dropped_after_a_network_loss() -> dict[str, Any]:
    """The ended record the core keeps for it (state ``finished``)."""
    from server.helpers import APP, GIB, make_app, started
    from uidt.device.state import DeviceState
    from uidt.server import JobSchedulerService
    from uidt.settings import Settings
    from uidt.testing import FakeClock

    service = JobSchedulerService(
        clock=FakeClock(),
        settings=Settings(),
        device=DeviceState(),
        installed_memory_bytes=16 * GIB,
        apps={APP: make_app()},
    )
    run_id = started(service)
    service.on_device_state(DeviceState(network=None))
    service.host.on_stop_job_result(run_id, False)
    return dict(service.ended[-1])


def test_a_job_dropped_after_a_system_stop_never_reads_finished_alone() -> None:
    text = _text([_dropped_after_a_network_loss()])
    assert "ended without completing" in text
    assert "stopped by the system (CONSTRAINT_CONNECTIVITY" in text
    assert "the app did not reschedule it" in text


def test_following_it_exits_1_and_says_so() -> None:
    from uidt.cli.follow import Target, outcome

    job = _dropped_after_a_network_loss()
    status, line = outcome(job, Target(job["app"], job["job_id"], job.get("generation")))
    assert status == 1
    assert "finished" not in line
    assert "ended without completing: stopped by the system (CONSTRAINT_CONNECTIVITY" in line


def test_the_web_page_does_not_call_it_finished() -> None:
    from uidt.web.render import render_fragment
    from uidt.web.view import build_view

    view = build_view([_dropped_after_a_network_loss()], [], {})
    (ended,) = view["ended"]
    assert "Finished" not in ended["state_words"]
    assert "did not reschedule" in ended["state_words"]
    assert "✓" not in render_fragment(view, "csrf")


def test_a_paused_transfer_reads_paused_everywhere_never_completed() -> None:
    """Its app ended it (``job_ended_incomplete``): ``finished``, but the file is not there."""
    from uidt.cli.dumpsys import render
    from uidt.web.view import build_view

    paused = _job(
        state="finished",
        stop_reason=0,
        internal_stop_reason=10,
        pending_reasons=[],
        completed=False,
        incomplete={"how": "paused", "reason": "paused at 1.0 MiB of 3.0 MiB"},
    )
    assert "ended without completing: paused at 1.0 MiB of 3.0 MiB" in _text([paused])
    view = build_view([paused], [], {})
    (ended,) = view["ended"]
    assert ended["state_words"] == "Ended without completing: paused at 1.0 MiB of 3.0 MiB"
    assert "completed=false" in "\n".join(render({"ended": [paused]}))


def test_a_job_that_completed_still_reads_finished() -> None:
    text = _text(
        [_job(state="finished", stop_reason=0, internal_stop_reason=10, pending_reasons=[])]
    )
    assert "finished" in text
    assert "without completing" not in text


def _fleet_text(jobs: list[dict[str, Any]]) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(fleet_table(jobs))
    return console.export_text()


def test_the_fleet_table_names_each_jobs_host_and_marks_this_hosts() -> None:
    other = {"app": "a.b", "namespace": None, "job_id": 7, "host": "host-a", "this_host": False,
             "state": "running", "last_change": None, "notification": None,
             "stop_request": {"outcome": None, "sent_to": "host-a"}}  # fmt: skip
    free = {**other, "job_id": 8, "host": None, "state": "waiting for a host", "stop_request": None}
    mine = {**_job(), "host": "host-b", "this_host": True}
    text = _fleet_text([other, free, mine])
    rows = [line for line in text.splitlines() if "│" in line]
    assert "host-a" in rows[0]
    assert "stop sent to host-a" in rows[0]
    assert "—" in rows[1]
    assert "waiting for a host" in rows[1]
    assert "host-b" in text
    assert "(this host)" in text


RETRYING = {
    "id": 7,
    "title": "Download x.bin waiting to retry",
    "text": "retrying: cannot reach 127.0.0.1:9 (connection refused)",
    "progress": None,
    "actions": [["cancel", "Cancel"]],
}


def _wide_text(jobs: list[dict[str, Any]]) -> str:
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(jobs_table(jobs))
    return console.export_text()


def test_a_job_waiting_to_retry_says_why_in_its_why_column() -> None:
    job = _ended("waiting", pending_reasons=[9], notification=RETRYING)
    text = _wide_text([job])
    assert (
        "waiting for its delay (backoff) to pass — "
        "retrying: cannot reach 127.0.0.1:9 (connection refused)"
    ) in text
    assert "last run: asked to retry" in text
    # the notification column names it; its text is said once, in the why column
    assert text.count("connection refused") == 1
    assert "Download x.bin waiting to retry" in text


def test_a_running_jobs_why_column_stays_empty_and_its_notification_shows() -> None:
    running = {**RETRYING, "title": "Download x.bin", "text": "1 MiB of 4 MiB"}
    text = _wide_text([_ended("active", pending_reasons=[], notification=running)])
    assert "Download x.bin — 1 MiB of 4 MiB" in text


def test_an_apps_words_in_the_why_column_are_not_read_as_markup() -> None:
    note = {**RETRYING, "text": "retrying: [bold]503[/bold]"}
    text = _wide_text([_ended("waiting", pending_reasons=[9], notification=note)])
    assert "retrying: [bold]503[/bold]" in text

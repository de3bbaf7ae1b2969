"""The view model: grouping, words, stop reasons, transfer rates."""

from __future__ import annotations

from uidt.job.reasons import InternalStopReason, PendingReason, StopReason
from uidt.web.render import render_fragment
from uidt.web.view import RateTracker, build_view, job_key, pending_words, stop_reason_text

from .fake_runtime import job


def test_pending_reasons_in_words() -> None:
    assert pending_words([PendingReason.CONSTRAINT_CONNECTIVITY, PendingReason.USER]) == [
        "waiting for a suitable network",
        "stopped by the user",
    ]
    assert pending_words([999]) == ["reason 999"]


def test_stop_reason_names_come_from_the_enums() -> None:
    assert stop_reason_text(StopReason.USER, InternalStopReason.USER_UI_STOP) == (
        "USER (USER_UI_STOP)"
    )
    assert stop_reason_text(None, None) is None
    assert stop_reason_text(3, None) == "TIMEOUT"
    assert stop_reason_text(77, -1) == "77 (UNKNOWN)"


def test_jobs_are_grouped_into_running_apps_waiting_and_ended() -> None:
    jobs = [
        job("b.app", 1, title="B"),
        job("a.app", 1, title="A1"),
        job("a.app", 2, title="A2"),
        job("a.app", 3, user_initiated=False),  # a running regular job: not in the Task Manager
        job("c.app", 1, "pending"),
        job("c.app", 2, "finished"),
        job("c.app", 3, "cancelled"),
    ]
    view = build_view(jobs, [], {})
    assert [(a["app"], len(a["jobs"])) for a in view["apps"]] == [("a.app", 2), ("b.app", 1)]
    assert [(j["app"], j["job_id"]) for j in view["waiting"]] == [("c.app", 1)]
    assert view["waiting"][0]["cancellable"]
    assert [j["job_id"] for j in view["ended"]] == [3, 2], "newest first"


def test_progress_falls_back_to_bytes_when_the_notification_has_none() -> None:
    view = build_view([job("a", 1, done=250, total=1000)], [], {})
    assert view["apps"][0]["jobs"][0]["progress"] == 0.25


def test_only_detached_notifications_are_listed() -> None:
    notes = [
        {"app": "a", "id": 1, "title": "Running", "user_initiated_job": True},
        {"app": "a", "id": 2, "title": "Done", "text": "", "user_initiated_job": False},
    ]
    assert [n["title"] for n in build_view([], notes, {})["notifications"]] == ["Done"]


def test_rate_is_bytes_per_second_over_the_window() -> None:
    rates = RateTracker(window_ms=3000)
    running = job("a", 1, done=0, total=10_000)
    key = job_key(running)
    assert rates.update([running], 0) == {key: None}, "one sample is no rate yet"
    running["transferred_download_bytes"] = 1000
    assert rates.update([running], 500) == {key: 2000}
    running["transferred_download_bytes"] = 2000
    assert rates.update([running], 1000) == {key: 2000}
    # no progress for a while: the rate falls to zero once the window has passed
    for now in range(1250, 4500, 250):
        rate = rates.update([running], now)[key]
    assert rate == 0


def test_a_restarted_transfer_resets_its_rate_and_ended_jobs_are_forgotten() -> None:
    rates = RateTracker()
    running = job("a", 1, done=5000, total=10_000)
    rates.update([running], 0)
    running["transferred_download_bytes"] = 0
    assert rates.update([running], 250) == {job_key(running): None}, "a fresh start"
    assert rates.update([], 500) == {}
    running["transferred_download_bytes"] = 100
    assert rates.update([running], 750) == {job_key(running): None}, "a fresh start"


def test_a_running_job_shows_a_dash_until_its_rate_is_measured() -> None:
    running = job("a", 1, title="A", done=0, total=10_000)
    rates = RateTracker()
    first = build_view([running], [], rates.update([running], 0))
    html = render_fragment(first, "csrf")
    assert ">—</span>" in html
    assert "0 B/s" not in html
    running["transferred_download_bytes"] = 0
    measured = build_view([running], [], rates.update([running], 1000))
    assert ">0 B/s</span>" in render_fragment(measured, "csrf"), "a stall is 0"


def test_ended_jobs_never_wait_and_cannot_be_cancelled() -> None:
    jobs = [
        job("a", 1, "waiting", pending_reasons=[PendingReason.USER]),  # held after a stop
        job("a", 2, "user-stopped", pending_reasons=[PendingReason.EXECUTING]),
        job("a", 3, "failed"),  # a state this page does not know yet is not a live one
        job("a", 4, "finished"),
        job("a", 4, "cancelled"),  # the same id again: one entry per job, the newest
    ]
    view = build_view(jobs, [], {})
    assert [j["job_id"] for j in view["waiting"]] == [1]
    assert [(j["job_id"], j["state"]) for j in view["ended"]] == [
        (4, "cancelled"),
        (3, "failed"),
        (2, "user-stopped"),
    ]
    assert not any(j["cancellable"] or j["pending"] for j in view["ended"])
    html = render_fragment(view, "csrf")
    assert html.count('class="cancel"') == 1
    assert "<li>running</li>" not in html


def test_the_last_crash_is_shown_with_its_count() -> None:
    crashing = job("a", 1, "waiting", pending_reasons=[PendingReason.CONSTRAINT_MINIMUM_LATENCY])
    crashing["last_crash"] = {
        "type": "RuntimeError",
        "message": "boom <b>",
        "count": 3,
        "time": "2026-11-30T16:00:00+00:00",
    }
    view = build_view([crashing, job("a", 2, "waiting")], [], {})
    assert view["waiting"][0]["last_crash"] == "RuntimeError: boom <b> (3 times)"
    assert view["waiting"][1]["last_crash"] is None
    html = render_fragment(view, "csrf")
    assert html.count('class="last-crash"') == 1
    assert "Last crash: RuntimeError: boom &lt;b&gt; (3 times)" in html


def test_a_run_the_app_ended_itself_is_no_stop_to_show() -> None:
    ended_itself = {"stop_reason": 0, "internal_stop_reason": InternalStopReason.SUCCESSFUL_FINISH}
    stopped = {
        "stop_reason": 4,
        "internal_stop_reason": InternalStopReason.CONSTRAINTS_NOT_SATISFIED,
    }
    jobs = [job("a", 1, "finished", **ended_itself), job("a", 2, "waiting", **stopped)]
    view = build_view(jobs, [], {})
    assert [j["last_stop"] for j in view["ended"]] == [None]
    assert [j["last_stop"] for j in view["waiting"]] == ["DEVICE_STATE (CONSTRAINTS_NOT_SATISFIED)"]
    assert "SUCCESSFUL_FINISH" not in render_fragment(view, "csrf")


def test_a_background_restricted_job_says_why_it_waits_and_why_it_stopped() -> None:
    waiting = job(
        "a.app",
        1,
        "waiting",
        pending_reasons=[PendingReason.BACKGROUND_RESTRICTION],
        stop_reason=StopReason.BACKGROUND_RESTRICTION,
        internal_stop_reason=InternalStopReason.CONSTRAINTS_NOT_SATISFIED,
    )
    (view,) = build_view([waiting], [], {})["waiting"]
    assert view["pending"] == ["the app is restricted in the background"]
    assert view["last_stop"] == "BACKGROUND_RESTRICTION (CONSTRAINTS_NOT_SATISFIED)"
    page = render_fragment(build_view([waiting], [], {}), "csrf")
    assert "the app is restricted in the background" in page


def _other(job_id: int, host: str | None, state: str, **more: object) -> dict[str, object]:
    """A job another host holds, as GET /v1/fleet/jobs lists it."""
    return {"app": "com.other", "namespace": None, "job_id": job_id, "host": host,
            "this_host": False, "state": state, "user_initiated": True,
            "notification": {"title": "Downloading <big>.iso", "text": None}, **more}  # fmt: skip


def test_off_a_shared_store_the_page_has_no_other_hosts_section() -> None:
    view = build_view([job("com.example", 1)], [], {})
    assert view["host_id"] is None
    assert "Other hosts" not in render_fragment(view, "csrf")


def test_other_hosts_jobs_show_their_host_and_a_sent_stop_never_reads_stopped() -> None:
    sent = {"outcome": None, "sent_to": "host-a", "done_by": None}
    fleet = {
        "host_id": "host-b",
        "jobs": [
            _other(7, "host-a", "running", stop_request=sent),
            _other(8, None, "waiting for a host"),
        ],
    }
    view = build_view([job("com.example", 1)], [], {}, fleet)
    (app,) = view["other_apps"]
    assert [(j["job_id"], j["host"], j["stop"]) for j in app["jobs"]] == [
        (7, "host-a", "stop sent to host-a"),
        (8, "—", None),
    ]
    html = render_fragment(view, "csrf")
    assert 'id="this-host">host-b</span>' in html
    assert 'data-host="host-a"' in html
    assert 'on <span class="host">host-a</span>' in html
    assert "Downloading &lt;big&gt;.iso" in html  # escaped like everything else
    assert 'action="/api/apps/com.other/stop"' in html  # Stop reaches the other host
    assert "stopped by" not in html

    done = {"outcome": "stopped", "sent_to": "host-a", "done_by": "host-a"}
    fleet["jobs"] = [_other(7, "host-a", "waiting", stop_request=done)]
    assert "stopped by host-a" in render_fragment(build_view([], [], {}, fleet), "csrf")

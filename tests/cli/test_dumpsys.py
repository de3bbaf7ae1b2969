"""``uidt dumpsys`` text: Android's ``dumpsys jobscheduler`` layout, bounded, no Python reprs."""

from __future__ import annotations

from typing import Any

from uidt.cli.dumpsys import ENDED_SHOWN, render, value_text


def _job(job_id: int, state: str, **extra: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "app": "org.example.sample",
        "namespace": None,
        "job_id": job_id,
        "service": "sample_app:SampleService",
        "state": state,
        "user_initiated": True,
        "internal_flags": 0,
        "stop_reason": 0,
        "internal_stop_reason": -1,
        "pending_reasons": [9],
        "num_failures": 0,
        "num_system_stops": 0,
        "cumulative_runtime_ms": 1500,
        "earliest_run_time": None,
        "notification": None,
        "estimated_download_bytes": 1000,
        "estimated_upload_bytes": 0,
        "transferred_download_bytes": 10,
        "transferred_upload_bytes": 0,
        "history": [
            {"time": f"2026-11-30T16:{m:02d}:22.260000+00:00", "state": "scheduled", "reason": "x"}
            for m in range(10)
        ],
    }
    job.update(extra)
    return job


def _dump(ended: int) -> dict[str, Any]:
    return {
        "jobs": [
            _job(1, "active", notification={"title": "work", "text": "job 1", "progress": 0.5}),
            _job(2, "pending", namespace="photos"),
        ],
        "ended": [_job(100 + i, "finished") for i in range(ended)],
        "notifications": [
            {
                "app": "org.example.sample",
                "id": 1,
                "title": "work",
                "text": "job 1",
                "progress": 0.5,
                "user_initiated_job": True,
                "job_id": 1,
            },
        ],
        "anrs": [
            {
                "app": "org.example.sample",
                "job_id": 3,
                "reason": "no notification in time",
                "time": "2026-11-30T16:46:22.260000+00:00",
            },
        ],
        "device": {"network": {"transport": "wifi", "metered": False}, "battery_level": 100},
        "device_sources": {"network": "wifi (fake)", "battery_level": "100 (fake)"},
        "concurrency": {
            "steady_limit": 40,
            "max_total": 40,
            "ui_reserved": 8,
            "running": 1,
            "queued": 1,
            "runs": [
                {
                    "run_id": 7,
                    "app": "org.example.sample",
                    "job_id": 1,
                    "verb": "UI",
                    "user_visible": True,
                    "min_guarantee_ms": 1,
                    "max_runtime_ms": 2,
                }
            ],
        },
        "apps": {"bound": ["org.example.sample"], "visible": [], "user_stopped": []},
        "settings": {"op_timeout_ms": 8000, "concurrency_limit": None, "web": None},
        "crashes": [
            {
                "app": "org.example.sample",
                "run_id": 4,
                "traceback": "Traceback (most recent call last):\n  File x\nRuntimeError: boom\n",
            },
        ],
        "last_crash": {"app": "org.example.sample", "when": "2026-11-30T16:46:22Z"},
    }


def test_the_sections_of_androids_dumpsys_in_order() -> None:
    lines = render(_dump(ended=3))
    titles = [line for line in lines if line and not line.startswith(" ")]
    assert titles == [
        "UIDT JOB SCHEDULER (uidt dumpsys)",
        "Settings:",
        "Device:",
        "Apps:",
        "Concurrency:",
        "Registered 2 jobs:",
        "Pending queue (1):",
        "Active jobs (1):",
        "Notifications (1):",
        "ANRs (1):",
        "Crashes (1):",
        "Ended jobs (3):",
        "Last crash:",  # a key this renderer does not know still gets a section
    ]


def test_one_block_per_job_with_key_value_lines() -> None:
    lines = render(_dump(ended=0))
    heads = [line for line in lines if line.startswith("  JOB #")]
    assert heads == [
        "  JOB #org.example.sample/1: state=active service=sample_app:SampleService",
        "  JOB #org.example.sample/photos:2: state=pending service=sample_app:SampleService",
    ]
    block = lines[lines.index(heads[0]) + 1 : lines.index(heads[1])]
    assert '    notification: title=work text="job 1" progress=0.5' in block
    assert any(line.startswith("    history (last 3 of 10):") for line in block)
    assert "  network=wifi (fake)" in lines
    assert (
        "  run 7: #org.example.sample/1 verb=UI user_visible=true min_guarantee_ms=1 "
        "max_runtime_ms=2" in lines
    )
    assert "  #org.example.sample/photos:2" in lines  # the pending queue
    assert "  concurrency_limit=none" in lines


def test_no_python_reprs() -> None:
    text = "\n".join(render(_dump(ended=30)))
    assert "{" not in text
    assert "'" not in text
    assert "None" not in text
    assert "True" not in text
    assert "Traceback" not in text  # a crash is its last line; --json has the traceback


def test_ended_jobs_are_one_line_each_and_bounded() -> None:
    one, many, more = (len(render(_dump(ended=n))) for n in (1, 100, 1000))
    assert many == one + ENDED_SHOWN - 1
    assert more == many
    assert many < 120
    lines = render(_dump(ended=100))
    assert f"Ended jobs (newest {ENDED_SHOWN} of 100; --json has them all):" in lines
    ended = [line for line in lines if "JOB #org.example.sample/1" in line and "finished" in line]
    assert ended[0].startswith("  2026-11-30 16:09:22.260Z JOB #org.example.sample/199: ")


def test_text_from_an_app_stays_one_quoted_value() -> None:
    assert value_text('it\'s {"a": 1}') == '"it\'s {\\"a\\": 1}"'
    assert value_text("plain") == "plain"
    assert value_text("") == '""'
    assert value_text("two\nlines") == '"two\\nlines"'  # never a second line
    assert value_text([1, "a b"]) == '1,"a b"'


def test_an_ended_job_says_whether_it_completed() -> None:
    dump = _dump(ended=1)
    dump["ended"][0].update(state="finished", stop_reason=7, internal_stop_reason=1)
    (line,) = [line for line in render(dump) if "state=finished" in line]
    assert "completed=false" in line
    assert 'last_stop="CONSTRAINT_CONNECTIVITY' in line


def test_a_job_waiting_for_a_host_label_names_it_and_the_host_shows_its_own() -> None:
    data = _dump(ended=0)
    data["jobs"] = [
        _job(3, "waiting", pending_reasons=[101], required_host_labels=["gpu-rack"]),
    ]
    data["settings"] = {"host_labels": ["gpu-rack-2", "ssd"]}
    lines = render(data)
    assert "    required_host_labels=gpu-rack" in lines
    assert '    pending="waiting for a host with label gpu-rack"' in lines
    assert "  host_labels=gpu-rack-2,ssd" in lines

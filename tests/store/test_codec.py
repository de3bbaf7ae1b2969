"""JSON encoding of records: exact round trips, compact job dicts, clear errors."""

from __future__ import annotations

import pytest

from uidt.errors import InvalidJobError
from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.job.network import NetworkType
from uidt.store import codec
from uidt.store.record import JobRecord
from uidt.testing.store_contract import make_app, make_notification, make_record


def _rich_job() -> JobInfo:
    return (
        JobInfo.Builder(7, "example_app.transfers:TransferService")
        .set_persisted(True)
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.UNMETERED)
        .set_estimated_network_bytes(1000, 20)
        .set_requires_charging(True)
        .set_extras({"nested": {"a": [1, 2]}})
        .build()
    )


def test_job_record_round_trips_exactly() -> None:
    record = JobRecord(
        key=JobKey("a", "ns", 7),
        job=_rich_job(),
        num_failures=2,
        earliest_run_time_utc_ms=5,
        history=[{"time": 1, "state": "x", "reason": "y"}],
        work_items=[{"work_id": 1}],
        extra={"k": "v"},
    )
    assert codec.job_record_from_json(codec.job_record_to_json(record)) == record


def test_compact_job_dict_drops_only_defaults() -> None:
    job = _rich_job()
    compact = codec.job_to_compact_dict(job)
    assert compact["user_initiated"] is True
    assert compact["requires_charging"] is True
    assert "requires_device_idle" not in compact
    assert len(compact) < len(job.to_dict())
    assert JobInfo.from_dict(compact) == job


def test_app_and_notification_round_trip() -> None:
    app = make_app("a")
    assert codec.app_record_from_json(codec.app_record_to_json(app)) == app
    note = make_notification("a", 3)
    assert codec.notification_record_from_json(codec.notification_record_to_json(note)) == note


def test_an_app_record_written_before_created_channels_reads_with_none() -> None:
    text = '{"package": "a", "manifest": {}, "granted": [], "revoked": [], "installed_utc_ms": 1}'
    assert codec.app_record_from_json(text).channels == {}


def test_an_app_record_with_a_bad_channels_value_is_unreadable() -> None:
    text = codec.app_record_to_json(make_app("a")).replace('"channels":{', '"channels":{"x":1,')
    with pytest.raises(InvalidJobError, match="unreadable app record"):
        codec.app_record_from_json(text)


@pytest.mark.parametrize("text", ["not json", "{}", '{"key": ["a", null, "x"]}'])
def test_unreadable_job_record(text: str) -> None:
    with pytest.raises(InvalidJobError, match="unreadable job record"):
        codec.job_record_from_json(text)


def test_persisted_flag_survives_encoding() -> None:
    record = make_record(persisted=True)
    assert codec.job_record_from_json(codec.job_record_to_json(record)).persisted

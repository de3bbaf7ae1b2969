"""``JobParameters``: what a running service is told, and its dict round trip."""

from __future__ import annotations

import json

from uidt.job import JobParameters, StopReason


def test_defaults_and_getters() -> None:
    params = JobParameters(job_id=3)
    assert params.namespace is None
    assert params.extras == {}
    assert params.transient_extras == {}
    assert params.network is None
    assert not params.is_user_initiated_job()
    assert not params.is_expedited_job()
    assert params.get_stop_reason() is StopReason.UNDEFINED
    assert params.run_id == 0


def test_defaults_are_not_shared() -> None:
    first, second = JobParameters(job_id=1), JobParameters(job_id=2)
    first.extras["k"] = 1
    assert second.extras == {}


def test_getters_reflect_fields() -> None:
    params = JobParameters(
        job_id=1, user_initiated=True, expedited=False, stop_reason=StopReason.USER
    )
    assert params.is_user_initiated_job()
    assert params.get_stop_reason() is StopReason.USER


def test_round_trip_through_json() -> None:
    params = JobParameters(
        job_id=9,
        namespace="ns",
        extras={"url": "http://127.0.0.1/x"},
        transient_extras={"t": [1]},
        network={"connected": True, "metered": False},
        user_initiated=True,
        expedited=False,
        run_id=4,
        stop_reason=StopReason.CONSTRAINT_CONNECTIVITY,
    )
    data = json.loads(json.dumps(params.to_dict()))
    assert data["stop_reason"] == 7
    again = JobParameters.from_dict(data)
    assert again.to_dict() == params.to_dict()
    assert again.stop_reason is StopReason.CONSTRAINT_CONNECTIVITY


def test_identity_not_value_equality() -> None:
    # Parameters identify one run; two runs of the same job are different objects.
    assert JobParameters(job_id=1) != JobParameters(job_id=1)


def test_from_dict_fills_defaults() -> None:
    params = JobParameters.from_dict({"job_id": 2})
    assert params.job_id == 2
    assert params.stop_reason is StopReason.UNDEFINED
    assert params.extras == {}


def test_the_lease_of_a_run_on_a_shared_store_travels_to_the_worker() -> None:
    params = JobParameters(job_id=3, host_id="rack7", lease_generation=41, taken_over=True)
    again = JobParameters.from_dict(json.loads(json.dumps(params.to_dict())))
    assert (again.host_id, again.lease_generation, again.taken_over) == ("rack7", 41, True)
    assert "taken_over" not in JobParameters(job_id=3, host_id="r", lease_generation=4).to_dict()
    # on a store of one host there is no lease: the message has no such fields
    assert "lease_generation" not in JobParameters(job_id=3).to_dict()
    assert JobParameters.from_dict({"job_id": 3}).lease_generation is None

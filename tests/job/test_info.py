"""``JobInfo`` and its builder: getters, immutability, equality, and the dict round trip.

The property-based tests drive random builder call sequences and random (mutated) dicts.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uidt.errors import InvalidJobError
from uidt.job import (
    BackoffPolicy,
    JobInfo,
    NetCapability,
    NetworkRequest,
    NetworkType,
    Priority,
    Transport,
)

SERVICE = "app.service:Transfer"
PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def uij() -> JobInfo.Builder:
    return (
        JobInfo.Builder(7, SERVICE)
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.UNMETERED)
    )


# -- builder and getters --------------------------------------------------------------------


def test_defaults_match_android() -> None:
    job = JobInfo.Builder(1, SERVICE).build()
    assert job.job_id == 1
    assert job.service == SERVICE
    assert job.priority is Priority.DEFAULT
    assert job.network_type is NetworkType.NONE
    assert job.required_network is None
    assert job.estimated_network_download_bytes == JobInfo.NETWORK_BYTES_UNKNOWN == -1
    assert job.estimated_network_upload_bytes == -1
    assert job.estimated_network_bytes == -1
    assert job.minimum_network_chunk_bytes == -1
    assert job.initial_backoff_millis == 30_000
    assert job.backoff_policy is BackoffPolicy.EXPONENTIAL
    assert not job.is_user_initiated()
    assert not job.is_persisted()
    assert not job.is_expedited
    assert not job.is_prefetch
    assert job.extras == {}
    assert job.transient_extras == {}


def test_user_initiated_getters() -> None:
    job = (
        uij()
        .set_persisted(True)
        .set_estimated_network_bytes(1_000, 24)
        .set_minimum_network_chunk_bytes(512)
        .set_backoff_criteria(60_000, BackoffPolicy.LINEAR)
        .set_extras({"url": "http://127.0.0.1/f"})
        .build()
    )
    assert job.is_user_initiated()
    assert job.is_persisted()
    assert job.priority is Priority.MAX
    assert job.network_type is NetworkType.UNMETERED
    assert job.required_network == NetworkRequest.for_network_type(NetworkType.UNMETERED)
    assert job.estimated_network_download_bytes == 1_000
    assert job.estimated_network_upload_bytes == 24
    assert job.estimated_network_bytes == 1_024
    assert job.minimum_network_chunk_bytes == 512
    assert job.initial_backoff_millis == 60_000
    assert job.backoff_policy is BackoffPolicy.LINEAR
    assert job.extras == {"url": "http://127.0.0.1/f"}


@pytest.mark.parametrize(
    ("download", "upload", "total"),
    [(-1, -1, -1), (10, -1, 10), (-1, 10, 10), (10, 5, 15), (0, 0, 0)],
)
def test_estimated_network_bytes_total(download: int, upload: int, total: int) -> None:
    job = uij().set_estimated_network_bytes(download, upload).build()
    assert job.estimated_network_bytes == total


def test_setters_return_the_builder() -> None:
    builder = JobInfo.Builder(1, SERVICE)
    calls: list[Callable[[], JobInfo.Builder]] = [
        lambda: builder.set_user_initiated(False),
        lambda: builder.set_expedited(False),
        lambda: builder.set_priority(Priority.LOW),
        lambda: builder.set_prefetch(False),
        lambda: builder.set_required_network(None),
        lambda: builder.set_required_network_type(NetworkType.NONE),
        lambda: builder.set_estimated_network_bytes(-1, -1),
        lambda: builder.set_minimum_network_chunk_bytes(-1),
        lambda: builder.set_backoff_criteria(10_000, BackoffPolicy.EXPONENTIAL),
        lambda: builder.set_persisted(False),
        lambda: builder.set_requires_charging(False),
        lambda: builder.set_requires_battery_not_low(False),
        lambda: builder.set_requires_storage_not_low(False),
        lambda: builder.set_requires_device_idle(False),
        lambda: builder.set_extras({}),
        lambda: builder.set_transient_extras(None),
        lambda: builder.set_clip_data(None),
        lambda: builder.set_trace_tag("trace"),
        lambda: builder.add_debug_tag("debug"),
    ]
    for call in calls:
        assert call() is builder
    assert builder.build().priority is Priority.LOW


def test_periodic_is_clamped_like_android() -> None:
    job = JobInfo.Builder(1, SERVICE).set_periodic(1_000).build()
    assert job.is_periodic
    assert job.interval_millis == 15 * 60 * 1000
    assert job.flex_millis == 15 * 60 * 1000
    flexed = JobInfo.Builder(1, SERVICE).set_periodic(60 * 60 * 1000, 1).build()
    assert flexed.flex_millis == 5 * 60 * 1000


def test_tags_are_trimmed() -> None:
    job = JobInfo.Builder(1, SERVICE).set_trace_tag(" t ").add_debug_tag(" d ").build()
    assert job.trace_tag == "t"
    assert job.debug_tags == ("d",)


def test_trigger_content_uris_are_kept() -> None:
    job = JobInfo.Builder(1, SERVICE).add_trigger_content_uri("content://a", True).build()
    assert [(t.uri, t.notify_for_descendants) for t in job.trigger_content_uris] == [
        ("content://a", True)
    ]


@pytest.mark.parametrize(
    ("job_id", "service", "message"),
    [
        (True, SERVICE, "job_id must be an int"),
        ("1", SERVICE, "job_id must be an int"),
        (2**31, SERVICE, "does not fit in 32 bits"),
        (-(2**31) - 1, SERVICE, "does not fit in 32 bits"),
        (1, "no_colon", "module:Class"),
        (1, 5, "module:Class"),
    ],
)
def test_builder_rejects_bad_identity(job_id: Any, service: Any, message: str) -> None:
    with pytest.raises(InvalidJobError, match=message):
        JobInfo.Builder(job_id, service)


def test_builder_accepts_the_32_bit_range() -> None:
    assert JobInfo.Builder(2**31 - 1, SERVICE).build().job_id == 2**31 - 1
    assert JobInfo.Builder(-(2**31), SERVICE).build().job_id == -(2**31)


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.set_priority("high"),
        lambda b: b.set_priority(True),
        lambda b: b.set_required_network("wifi"),
        lambda b: b.set_required_network_type(9),
        lambda b: b.set_estimated_network_bytes(1.5, -1),
        lambda b: b.set_minimum_network_chunk_bytes("1"),
        lambda b: b.set_backoff_criteria(10_000, 7),
        lambda b: b.set_backoff_criteria(None, BackoffPolicy.LINEAR),
        lambda b: b.set_minimum_latency(1.0),
        lambda b: b.set_override_deadline("0"),
        lambda b: b.set_periodic("15m"),
        lambda b: b.set_extras({"k": object()}),
        lambda b: b.set_extras({1: "v"}),
        lambda b: b.set_extras(["not", "a", "mapping"]),
        lambda b: b.set_transient_extras({"nan": float("nan")}),
        lambda b: b.set_clip_data(b"bytes"),
        lambda b: b.add_trigger_content_uri(""),
        lambda b: b.set_trace_tag(5),
        lambda b: b.add_debug_tag(None),
    ],
)
def test_setter_rejects_wrong_types(call: Callable[[JobInfo.Builder], object]) -> None:
    with pytest.raises(InvalidJobError):
        call(JobInfo.Builder(1, SERVICE))


# -- immutability and equality ----------------------------------------------------------------


def test_job_info_is_frozen() -> None:
    job = uij().build()
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.priority = Priority.LOW  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.job_id = 8  # type: ignore[misc]


def test_extras_getters_return_copies() -> None:
    source = {"nested": {"list": [1, 2]}}
    job = uij().set_extras(source).set_transient_extras({"t": [1]}).build()
    source["nested"]["list"].append(3)
    assert job.extras == {"nested": {"list": [1, 2]}}
    leaked = job.extras
    leaked["nested"]["list"].append(4)
    leaked["new"] = 1
    assert job.extras == {"nested": {"list": [1, 2]}}
    job.transient_extras["t"].append(2)
    assert job.transient_extras == {"t": [1]}


def test_building_twice_gives_equal_independent_jobs() -> None:
    builder = uij()
    first = builder.build()
    builder.add_debug_tag("later")
    second = builder.build()
    assert first.debug_tags == ()
    assert second.debug_tags == ("later",)


def test_equal_by_value_and_hashable() -> None:
    a = uij().set_extras({"a": 1, "b": 2}).build()
    b = uij().set_extras({"b": 2, "a": 1}).build()
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != uij().set_extras({"a": 1}).build()
    assert a != uij().set_requires_charging(True).set_extras({"a": 1, "b": 2}).build()


def test_network_request_and_type_give_equal_jobs() -> None:
    by_type = uij().build()
    by_request = (
        JobInfo.Builder(7, SERVICE)
        .set_user_initiated(True)
        .set_required_network(NetworkRequest.for_network_type(NetworkType.UNMETERED))
        .build()
    )
    assert by_type == by_request


# -- to_dict / from_dict --------------------------------------------------------------------


def _round_trip(job: JobInfo) -> JobInfo:
    return JobInfo.from_dict(json.loads(json.dumps(job.to_dict(), allow_nan=False)))


def test_full_job_round_trips_through_json() -> None:
    job = (
        uij()
        .set_required_network(
            NetworkRequest.Builder()
            .add_capability(NetCapability.NOT_METERED)
            .add_transport_type(Transport.WIFI)
            .build()
        )
        .set_estimated_network_bytes(10, 20)
        .set_minimum_network_chunk_bytes(5)
        .set_backoff_criteria(12_345, BackoffPolicy.LINEAR)
        .set_requires_charging(True)
        .set_extras({"s": "ü", "n": None, "f": 1.5, "l": [True, {"x": -1}]})
        .set_transient_extras({"t": 1})
        .set_clip_data("content://clip")
        .set_trace_tag("trace")
        .add_debug_tag("debug")
        .build()
    )
    again = _round_trip(job)
    assert again == job
    assert hash(again) == hash(job)
    assert again.priority is Priority.MAX
    assert again.backoff_policy is BackoffPolicy.LINEAR


def test_round_trip_of_a_periodic_job_with_trigger_uris() -> None:
    job = JobInfo.Builder(3, SERVICE).add_trigger_content_uri("content://a", True).build()
    assert _round_trip(job) == job
    periodic = JobInfo.Builder(4, SERVICE).set_periodic(3_600_000, 600_000).build()
    assert _round_trip(periodic) == periodic


def test_to_dict_is_json_safe_and_spells_enums_as_numbers() -> None:
    data = uij().build().to_dict()
    assert data["priority"] == 500
    assert type(data["priority"]) is int
    assert data["required_network"] == {"capabilities": [11, 12, 16], "transports": []}
    assert data["extras"] == {}
    json.dumps(data, allow_nan=False)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(bogus=1), "unknown job field"),
        (lambda d: d.pop("job_id"), "missing job field"),
        (lambda d: d.pop("service"), "missing job field"),
        (lambda d: d.update(job_id=2**40), "32 bits"),
        (lambda d: d.update(service="nocolon"), "module:Class"),
        (lambda d: d.update(priority=150), "malformed job"),
        (lambda d: d.update(priority="500"), "priority must be an int"),
        (lambda d: d.update(user_initiated=1), "must be true or false"),
        (lambda d: d.update(required_network=[11]), "Invalid network request"),
        (lambda d: d.update(required_network={"capabilities": [99]}), "Invalid network request"),
        (lambda d: d.update(required_network={"capabilities": "11"}), "Invalid network request"),
        (lambda d: d.update(required_network=None), "valid network type"),
        (lambda d: d.update(extras=[1]), "extras must be a mapping"),
        (lambda d: d.update(trigger_content_uris="ab"), "must be a list"),
        (lambda d: d.update(trigger_content_uris=["ab"]), "trigger content URI"),
        (lambda d: d.update(debug_tags="abc"), "must be a list"),
        (lambda d: d.update(debug_tags=[1]), "must be strings"),
        (lambda d: d.update(clip_data=5), "clip_data must be a string"),
        (lambda d: d.update(min_latency_millis=1.5), "must be an int"),
        (lambda d: d.update(has_early_constraint=True), "cannot have a time delay"),
    ],
)
def test_from_dict_rejects_bad_input(
    mutate: Callable[[dict[str, Any]], object], message: str
) -> None:
    data = uij().build().to_dict()
    mutate(data)
    with pytest.raises(InvalidJobError, match=message):
        JobInfo.from_dict(data)


@pytest.mark.parametrize("garbage", [None, [], "job", 5, [("job_id", 1)]])
def test_from_dict_rejects_non_objects(garbage: Any) -> None:
    with pytest.raises(InvalidJobError):
        JobInfo.from_dict(garbage)


def test_from_dict_raises_a_short_backoff_to_ten_seconds() -> None:
    data = uij().set_backoff_criteria(10_000, BackoffPolicy.LINEAR).build().to_dict()
    data["initial_backoff_millis"] = 5
    assert JobInfo.from_dict(data).initial_backoff_millis == 10_000


def test_from_dict_accepts_a_minimal_dict() -> None:
    job = JobInfo.from_dict({"job_id": 1, "service": SERVICE})
    assert job == JobInfo.Builder(1, SERVICE).build()


# -- property-based: random builder call sequences ----------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
extras_maps = st.one_of(st.none(), st.dictionaries(st.text(max_size=5), json_values, max_size=3))
byte_counts = st.sampled_from([-5, -1, 0, 1, 100, 10_000])
millis = st.sampled_from([-1, 0, 1, 5_000, 10_000, 900_000, 3_600_000])
tags = st.sampled_from(["", " ", "tag", " padded ", "a|b", "x" * 127, "y" * 128])
priorities = st.sampled_from([*Priority, 99, 150, 501])
booleans = st.booleans()

network_requests = st.one_of(
    st.none(),
    st.builds(
        NetworkRequest,
        st.frozensets(st.sampled_from(list(NetCapability))),
        st.frozensets(st.sampled_from(list(Transport))),
    ),
)

Call = tuple[str, tuple[Any, ...]]
CALLS: list[st.SearchStrategy[Call]] = [
    st.tuples(st.just("set_user_initiated"), st.tuples(booleans)),
    st.tuples(st.just("set_expedited"), st.tuples(booleans)),
    st.tuples(st.just("set_prefetch"), st.tuples(booleans)),
    st.tuples(st.just("set_priority"), st.tuples(priorities)),
    st.tuples(st.just("set_required_network"), st.tuples(network_requests)),
    st.tuples(st.just("set_required_network_type"), st.tuples(st.sampled_from(list(NetworkType)))),
    st.tuples(st.just("set_estimated_network_bytes"), st.tuples(byte_counts, byte_counts)),
    st.tuples(st.just("set_minimum_network_chunk_bytes"), st.tuples(byte_counts)),
    st.tuples(
        st.just("set_backoff_criteria"), st.tuples(millis, st.sampled_from(list(BackoffPolicy)))
    ),
    st.tuples(st.just("set_persisted"), st.tuples(booleans)),
    st.tuples(st.just("set_requires_charging"), st.tuples(booleans)),
    st.tuples(st.just("set_requires_battery_not_low"), st.tuples(booleans)),
    st.tuples(st.just("set_requires_storage_not_low"), st.tuples(booleans)),
    st.tuples(st.just("set_requires_device_idle"), st.tuples(booleans)),
    st.tuples(st.just("set_minimum_latency"), st.tuples(millis)),
    st.tuples(st.just("set_override_deadline"), st.tuples(millis)),
    st.tuples(st.just("set_periodic"), st.tuples(millis, st.one_of(st.none(), millis))),
    st.tuples(st.just("set_extras"), st.tuples(extras_maps)),
    st.tuples(st.just("set_transient_extras"), st.tuples(extras_maps)),
    st.tuples(st.just("set_clip_data"), st.tuples(st.one_of(st.none(), st.text(max_size=5)))),
    st.tuples(
        st.just("add_trigger_content_uri"),
        st.tuples(st.sampled_from(["content://a", "content://b"]), booleans),
    ),
    st.tuples(st.just("set_trace_tag"), st.tuples(st.one_of(st.none(), tags))),
    st.tuples(st.just("add_debug_tag"), st.tuples(tags)),
]
UIJ_PREFIX: list[Call] = [
    ("set_required_network_type", (NetworkType.ANY,)),
    ("set_user_initiated", (True,)),
]
call_sequences = st.one_of(
    st.lists(st.one_of(CALLS), max_size=12),
    st.lists(st.one_of(CALLS), max_size=6).map(lambda calls: [*UIJ_PREFIX, *calls]),
)


def _apply(calls: list[Call]) -> JobInfo.Builder:
    builder = JobInfo.Builder(5, SERVICE)
    for name, args in calls:
        getattr(builder, name)(*args)
    return builder


def _outcome(make: Callable[[], JobInfo]) -> JobInfo | InvalidJobError:
    """The built job, or the error; any other exception escapes and fails the test."""
    try:
        return make()
    except InvalidJobError as exc:
        return exc


@PROPERTY_SETTINGS
@given(call_sequences)
def test_any_call_sequence_builds_a_round_tripping_job_or_names_the_rule(
    calls: list[Call],
) -> None:
    result = _outcome(lambda: _apply(calls).build())
    if isinstance(result, InvalidJobError):
        assert isinstance(result, ValueError)
        assert str(result).strip()
        return
    job = result
    text = json.dumps(job.to_dict(), allow_nan=False)
    again = JobInfo.from_dict(json.loads(text))
    assert again == job
    assert hash(again) == hash(job)
    assert again.to_dict() == job.to_dict()


@PROPERTY_SETTINGS
@given(call_sequences)
def test_a_failed_build_changes_nothing(calls: list[Call]) -> None:
    try:
        builder = _apply(calls)
    except InvalidJobError:
        return
    outcomes: list[tuple[str, Any]] = []
    for _ in range(2):
        try:
            outcomes.append(("built", builder.build().to_dict()))
        except InvalidJobError as exc:
            outcomes.append(("failed", str(exc)))
    assert outcomes[0] == outcomes[1]


@PROPERTY_SETTINGS
@given(st.lists(st.one_of(CALLS[:9]), max_size=6))
def test_user_initiated_jobs_stay_max_priority(calls: list[Call]) -> None:
    try:
        job = _apply([*calls, ("set_user_initiated", (True,))]).build()
    except InvalidJobError:
        return
    assert job.is_user_initiated()
    assert job.priority is Priority.MAX
    assert job.required_network is not None


# -- property-based: from_dict on mutated and garbage dicts ---------------------------------------

FIELD_NAMES = sorted(uij().build().to_dict())
mutations = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.sampled_from(FIELD_NAMES), json_values),
        st.tuples(st.just("drop"), st.sampled_from(FIELD_NAMES), st.none()),
        st.tuples(st.just("add"), st.text(max_size=6), json_values),
    ),
    min_size=1,
    max_size=4,
)


def _check_from_dict(data: Any) -> None:
    result = _outcome(lambda: JobInfo.from_dict(data))
    if isinstance(result, InvalidJobError):
        assert str(result).strip()
        return
    # Whatever was accepted is a valid job that round-trips.
    assert JobInfo.from_dict(json.loads(json.dumps(result.to_dict(), allow_nan=False))) == result


@PROPERTY_SETTINGS
@given(call_sequences, mutations)
def test_from_dict_on_mutated_dicts_raises_only_invalid_job_error(
    calls: list[Call], changes: list[tuple[str, str, Any]]
) -> None:
    try:
        data = _apply(calls).build().to_dict()
    except InvalidJobError:
        data = uij().build().to_dict()
    for action, key, value in changes:
        if action == "drop":
            data.pop(key, None)
        else:
            data[key] = value
    _check_from_dict(data)


@PROPERTY_SETTINGS
@given(json_values)
def test_from_dict_on_garbage_raises_only_invalid_job_error(garbage: Any) -> None:
    _check_from_dict(garbage)

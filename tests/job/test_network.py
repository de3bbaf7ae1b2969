"""Network requests, capabilities and transports; NetworkType ↔ request both ways (docs/android-semantics.md#job-validation)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uidt.errors import InvalidJobError
from uidt.job import NetCapability, NetworkRequest, NetworkType, Transport

INTERNET, VALIDATED = NetCapability.INTERNET, NetCapability.VALIDATED


def test_network_type_numbers_are_androids() -> None:
    assert {t.name: int(t) for t in NetworkType} == {
        "NONE": 0,
        "ANY": 1,
        "UNMETERED": 2,
        "NOT_ROAMING": 3,
        "CELLULAR": 4,
    }


def test_capability_numbers_are_androids() -> None:
    assert {c.name: int(c) for c in NetCapability} == {
        "NOT_METERED": 11,
        "INTERNET": 12,
        "NOT_RESTRICTED": 13,
        "NOT_VPN": 15,
        "VALIDATED": 16,
        "NOT_ROAMING": 18,
        "NOT_SUSPENDED": 21,
        "TEMPORARILY_NOT_METERED": 25,
    }


def test_transport_numbers_are_androids() -> None:
    assert {t.name: int(t) for t in Transport} == {
        "CELLULAR": 0,
        "WIFI": 1,
        "ETHERNET": 3,
        "VPN": 4,
    }


@pytest.mark.parametrize(
    ("network_type", "capabilities", "transports"),
    [
        (NetworkType.ANY, {INTERNET, VALIDATED}, set()),
        (NetworkType.UNMETERED, {INTERNET, VALIDATED, NetCapability.NOT_METERED}, set()),
        (NetworkType.NOT_ROAMING, {INTERNET, VALIDATED, NetCapability.NOT_ROAMING}, set()),
        (NetworkType.CELLULAR, {INTERNET, VALIDATED}, {Transport.CELLULAR}),
    ],
)
def test_network_type_to_request(
    network_type: NetworkType, capabilities: set[NetCapability], transports: set[Transport]
) -> None:
    request = NetworkRequest.for_network_type(network_type)
    assert request is not None
    assert request.capabilities == capabilities
    assert request.transports == transports
    # NOT_VPN and NOT_RESTRICTED are removed, as Android does.
    assert not request.has_capability(NetCapability.NOT_VPN)
    assert not request.has_capability(NetCapability.NOT_RESTRICTED)
    assert request.network_type is network_type


def test_network_type_none_is_no_request() -> None:
    assert NetworkRequest.for_network_type(NetworkType.NONE) is None


def test_network_type_accepts_plain_numbers() -> None:
    assert NetworkRequest.for_network_type(2) == NetworkRequest.for_network_type(  # type: ignore[arg-type]
        NetworkType.UNMETERED
    )


@pytest.mark.parametrize(
    ("capabilities", "transports", "expected"),
    [
        (
            {NetCapability.NOT_METERED, NetCapability.NOT_ROAMING},
            {Transport.CELLULAR},
            NetworkType.UNMETERED,
        ),
        ({NetCapability.NOT_ROAMING}, {Transport.CELLULAR}, NetworkType.NOT_ROAMING),
        (set(), {Transport.CELLULAR, Transport.WIFI}, NetworkType.CELLULAR),
        ({INTERNET}, {Transport.WIFI}, NetworkType.ANY),
        (set(), set(), NetworkType.ANY),
        ({NetCapability.TEMPORARILY_NOT_METERED}, set(), NetworkType.ANY),
    ],
)
def test_request_to_network_type_precedence(
    capabilities: set[NetCapability], transports: set[Transport], expected: NetworkType
) -> None:
    request = NetworkRequest(frozenset(capabilities), frozenset(transports))
    assert request.network_type is expected


def test_builder_defaults_and_edits() -> None:
    default = NetworkRequest.Builder().build()
    assert default.capabilities == {INTERNET, NetCapability.NOT_RESTRICTED, NetCapability.NOT_VPN}
    assert default.transports == frozenset()
    request = (
        NetworkRequest.Builder()
        .add_capability(NetCapability.NOT_METERED)
        .remove_capability(NetCapability.NOT_VPN)
        .add_transport_type(Transport.WIFI)
        .add_transport_type(Transport.ETHERNET)
        .remove_transport_type(Transport.ETHERNET)
        .build()
    )
    assert request.has_capability(NetCapability.NOT_METERED)
    assert not request.has_capability(NetCapability.NOT_VPN)
    assert request.has_transport(Transport.WIFI)
    assert not request.has_transport(Transport.ETHERNET)
    assert request.network_type is NetworkType.UNMETERED
    assert NetworkRequest.Builder().clear_capabilities().build().capabilities == frozenset()


def test_builder_rejects_unknown_numbers() -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the enum's own error
        NetworkRequest.Builder().add_capability(99)  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # noqa: PT011
        NetworkRequest.Builder().add_transport_type(2)  # type: ignore[arg-type]


def test_request_is_frozen_and_hashable() -> None:
    a = NetworkRequest.for_network_type(NetworkType.CELLULAR)
    b = NetworkRequest.for_network_type(NetworkType.CELLULAR)
    assert a == b
    assert hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.capabilities = frozenset()  # type: ignore[misc, union-attr]


requests = st.builds(
    NetworkRequest,
    st.frozensets(st.sampled_from(list(NetCapability))),
    st.frozensets(st.sampled_from(list(Transport))),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(requests)
def test_request_round_trips_through_json(request: NetworkRequest) -> None:
    again = NetworkRequest.from_dict(json.loads(json.dumps(request.to_dict())))
    assert again == request
    assert hash(again) == hash(request)


@pytest.mark.parametrize(
    "data",
    [
        [],
        "x",
        None,
        {"capabilities": [99]},
        {"capabilities": ["12"]},
        {"capabilities": [True]},
        {"capabilities": 12},
        {"transports": [2]},
        {"transports": [1.0]},
        {"speed": 1},
    ],
)
def test_from_dict_rejects_malformed_requests(data: Any) -> None:
    with pytest.raises(InvalidJobError, match="Invalid network request"):
        NetworkRequest.from_dict(data)


def test_from_dict_of_an_empty_object_accepts_anything() -> None:
    assert NetworkRequest.from_dict({}) == NetworkRequest()

"""``JobWorkItem``: extras plus network estimates, validated like ``JobInfo`` (docs/android-semantics.md#reason-numbers)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from uidt.errors import InvalidJobError, UidtError
from uidt.job import JobWorkItem


def test_defaults() -> None:
    item = JobWorkItem.create()
    assert item.extras == {}
    assert item.estimated_network_download_bytes == -1
    assert item.estimated_network_upload_bytes == -1
    assert item.minimum_network_chunk_bytes == -1
    assert not item.has_network_estimates


def test_create_with_estimates() -> None:
    item = JobWorkItem.create(
        {"url": "http://127.0.0.1/a"}, download_bytes=100, upload_bytes=20, minimum_chunk_bytes=120
    )
    assert item.extras == {"url": "http://127.0.0.1/a"}
    assert item.has_network_estimates


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"upload_bytes": -2}, "Invalid network upload bytes: -2"),
        ({"download_bytes": -3}, "Invalid network download bytes: -3"),
        ({"minimum_chunk_bytes": 0}, "Minimum chunk size must be positive"),
        ({"minimum_chunk_bytes": -5}, "Minimum chunk size must be positive"),
        (
            {"download_bytes": 10, "upload_bytes": 5, "minimum_chunk_bytes": 16},
            "Minimum chunk size can't be greater than estimated network usage",
        ),
        ({"download_bytes": 1.5}, "download bytes must be an int"),
        ({"upload_bytes": True}, "upload bytes must be an int"),
        ({"minimum_chunk_bytes": "1"}, "minimum chunk bytes must be an int"),
    ],
)
def test_invalid_items(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        JobWorkItem.create(**kwargs)
    assert isinstance(caught.value, UidtError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"download_bytes": 0, "upload_bytes": 0},
        {"download_bytes": 10, "minimum_chunk_bytes": 10},
        {"upload_bytes": 10, "minimum_chunk_bytes": 10},
        {"minimum_chunk_bytes": 1_000},  # no estimate to compare with
    ],
)
def test_valid_items(kwargs: dict[str, Any]) -> None:
    JobWorkItem.create(**kwargs)


def test_frozen_equal_hashable_and_extras_copied() -> None:
    a = JobWorkItem.create({"k": [1]}, download_bytes=5)
    b = JobWorkItem.create({"k": [1]}, download_bytes=5)
    assert a == b
    assert hash(a) == hash(b)
    a.extras["k"].append(2)
    assert a.extras == {"k": [1]}
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.estimated_network_download_bytes = 1  # type: ignore[misc]


def test_round_trip_through_json() -> None:
    item = JobWorkItem.create({"n": 1}, download_bytes=7, upload_bytes=3, minimum_chunk_bytes=2)
    assert JobWorkItem.from_dict(json.loads(json.dumps(item.to_dict()))) == item
    assert JobWorkItem.from_dict({}) == JobWorkItem.create()


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "item",
        {"extras": [1]},
        {"extras_json": "{}"},
        {"bogus": 1},
        {"estimated_network_download_bytes": "10"},
        {"estimated_network_download_bytes": 1e400},
        {"minimum_network_chunk_bytes": 0},
    ],
)
def test_from_dict_rejects_malformed(data: Any) -> None:
    with pytest.raises(InvalidJobError):
        JobWorkItem.from_dict(data)

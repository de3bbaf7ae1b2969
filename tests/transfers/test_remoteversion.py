"""RemoteVersion: the validators and length a part file's bytes came with."""

from __future__ import annotations

from typing import Any

import pytest

from uidt.transfers.remoteversion import RemoteVersion


def test_the_state_round_trips() -> None:
    version = RemoteVersion('"v1"', "Mon, 30 Nov 2026 20:00:00 GMT", 40)
    loaded = RemoteVersion()
    loaded.load(version.state())
    assert loaded == version


def test_a_total_that_is_not_a_number_is_unknown() -> None:
    version = RemoteVersion()
    version.load({"etag": '"v1"', "total": "40"})
    assert version == RemoteVersion('"v1"', None, None)


@pytest.mark.parametrize(
    ("state", "readable"),
    [
        ({}, True),  # a version 1 checkpoint of a server that gave no validators
        ({"etag": '"v1"', "last_modified": None}, True),
        ({"etag": 5}, False),
        ({"last_modified": ["Mon"]}, False),
    ],
)
def test_validators_must_be_text_or_absent(state: dict[str, Any], readable: bool) -> None:
    assert RemoteVersion.readable(state) is readable


def test_forget() -> None:
    version = RemoteVersion('"v1"', "Mon", 40)
    version.forget()
    assert version == RemoteVersion()

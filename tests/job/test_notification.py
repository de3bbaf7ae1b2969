"""``Notification``: validated, immutable, round-trips; end policies have Android's numbers."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from uidt.errors import InvalidJobError, UidtError
from uidt.job import EndPolicy, Notification, NotificationAction


def test_end_policy_numbers() -> None:
    assert {p.name: int(p) for p in EndPolicy} == {"DETACH": 0, "REMOVE": 1}


def test_defaults() -> None:
    note = Notification("downloads", "Downloading")
    assert note.text == ""
    assert note.progress is None
    assert note.ongoing is True
    assert note.actions == ()


def test_options_are_keyword_only() -> None:
    note = Notification("downloads", "Title", "text", progress=0.5, ongoing=False)
    assert note.progress == 0.5
    with pytest.raises(TypeError):
        Notification("downloads", "Title", "text", 0.5)  # type: ignore[misc]


def test_actions_become_a_tuple() -> None:
    note = Notification("c", "t", actions=[NotificationAction("cancel", "Cancel")])  # type: ignore[arg-type]
    assert note.actions == (NotificationAction("cancel", "Cancel"),)
    assert hash(note) == hash(
        Notification("c", "t", actions=(NotificationAction("cancel", "Cancel"),))
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channel_id": "", "title": "t"}, "channel"),
        ({"channel_id": None, "title": "t"}, "channel"),
        ({"channel_id": "c", "title": 5}, "title must be a string"),
        ({"channel_id": "c", "title": "t", "text": None}, "text must be a string"),
        ({"channel_id": "c", "title": "t", "progress": 1.5}, "progress"),
        ({"channel_id": "c", "title": "t", "progress": -0.1}, "progress"),
        ({"channel_id": "c", "title": "t", "progress": True}, "progress"),
        ({"channel_id": "c", "title": "t", "progress": "half"}, "progress"),
    ],
)
def test_invalid_notifications(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        Notification(**kwargs)
    assert isinstance(caught.value, UidtError)


@pytest.mark.parametrize("progress", [0, 0.0, 0.25, 1, 1.0])
def test_progress_bounds(progress: float) -> None:
    assert Notification("c", "t", progress=progress).progress == progress


def test_frozen() -> None:
    note = Notification("c", "t")
    with pytest.raises(dataclasses.FrozenInstanceError):
        note.title = "other"  # type: ignore[misc]


def test_round_trip_through_json() -> None:
    note = Notification(
        "downloads",
        "Downloading",
        "3 of 10 MB",
        progress=0.3,
        ongoing=False,
        actions=(NotificationAction("pause", "Pause"), NotificationAction("cancel", "Cancel")),
    )
    assert Notification.from_dict(json.loads(json.dumps(note.to_dict()))) == note


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"title": "t"},
        {"channel_id": "c"},
        {"channel_id": "c", "title": "t", "progress": 2},
        {"channel_id": "c", "title": "t", "actions": [["only-one"]]},
        {"channel_id": "c", "title": "t", "actions": 5},
        [],
        "note",
    ],
)
def test_from_dict_rejects_malformed(data: Any) -> None:
    with pytest.raises(InvalidJobError):
        Notification.from_dict(data)

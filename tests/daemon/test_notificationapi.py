"""The notification routes' own checks (the routes themselves run in the e2e tests)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from uidt.daemon.notificationactions import NotificationActions
from uidt.daemon.notificationapi import notification_id
from uidt.errors import InvalidJobError


@pytest.mark.parametrize(("raw", "value"), [(7, 7), ("7", 7), ("-3", -3), (2**31 - 1, 2**31 - 1)])
def test_a_notification_id_is_a_32_bit_integer(raw: Any, value: int) -> None:
    assert notification_id(raw) == value


@pytest.mark.parametrize("raw", [True, None, 1.5, "x", "", 2**31, -(2**31) - 1, [1]])
def test_anything_else_is_one_clear_error(raw: Any) -> None:
    with pytest.raises(InvalidJobError, match="notification id"):
        notification_id(raw)


def test_the_listing_carries_each_notifications_progress() -> None:
    """``uidt download --wait`` reads its job's last notification from this listing (a full
    bar only when it says the work is done), so the progress is part of it."""
    record = SimpleNamespace(
        notification={"title": "Download f complete", "text": "", "progress": 1.0},
        job=None,
        user_initiated_job=True,
    )
    service = SimpleNamespace(notifications=SimpleNamespace(shown={("uidt.transfers", 7): record}))
    actions = NotificationActions(
        apps=None,  # type: ignore[arg-type]
        service=service,  # type: ignore[arg-type]
        grant=lambda app: None,
        deliver=None,  # type: ignore[arg-type]
        spawn=lambda coro: None,
    )
    (listed,) = actions.listing("uidt.transfers")
    assert (listed["id"], listed["title"], listed["progress"]) == (7, "Download f complete", 1.0)
    assert actions.listing("other.app") == []

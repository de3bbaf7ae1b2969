"""Parsing the runtime's (kind, payload) pairs."""

from __future__ import annotations

import pytest

from uidt.errors import ProtocolError, UidtError
from uidt.job.key import JobKey
from uidt.job.notification import Notification, NotificationAction
from uidt.notify.events import NotificationAction as ShownAction
from uidt.notify.events import Posted, Removed, parse_event
from uidt.store.record import NotificationRecord


def test_a_post_becomes_a_typed_event() -> None:
    note = Notification("c", "Title", "Text", progress=0.5, actions=(NotificationAction("x", "X"),))
    event = parse_event(
        "post", NotificationRecord("app", 3, note.to_dict(), JobKey("app", None, 1), True)
    )
    assert event == Posted("app", 3, "Title", "Text", 0.5, True, (ShownAction("x", "X"),), True)
    assert event.key == ("app", 3)


def test_a_detached_notification_is_not_ongoing() -> None:
    note = Notification("c", "Done")
    event = parse_event("post", NotificationRecord("app", 3, note.to_dict(), None, False))
    assert isinstance(event, Posted)
    assert not event.ongoing
    assert not event.user_initiated_job
    assert event.progress is None


def test_a_remove_becomes_a_typed_event() -> None:
    assert parse_event("remove", ("app", 3)) == Removed("app", 3)
    assert Removed("app", 3).key == ("app", 3)


@pytest.mark.parametrize(("kind", "payload"), [("post", ("app", 1)), ("update", ("app", 1))])
def test_anything_else_is_a_protocol_error(kind: str, payload: tuple[str, int]) -> None:
    with pytest.raises(ProtocolError) as raised:
        parse_event(kind, payload)
    assert isinstance(raised.value, UidtError)
    assert isinstance(raised.value, ValueError)

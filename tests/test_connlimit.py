"""ConnectionSlots: who gives way when a server is full, and the cap under the open-file limit."""

from __future__ import annotations

import pytest

from uidt import connlimit
from uidt.connlimit import ConnectionSlots


def test_a_full_server_closes_its_oldest_waiting_connection_for_a_newcomer() -> None:
    closed: list[str] = []
    slots = ConnectionSlots(3)
    first = slots.admit(1.0, lambda: closed.append("first"))
    second = slots.admit(2.0, lambda: closed.append("second"))
    slots.admit(3.0, lambda: closed.append("third"))
    assert first is not None
    assert second is not None
    first.busy = True  # being answered: never evicted
    assert slots.admit(4.0, lambda: closed.append("fourth")) is not None
    assert closed == ["second"]
    assert (len(slots), slots.evicted, slots.refused) == (3, 1, 0)


def test_a_server_whose_connections_are_all_busy_refuses_the_newcomer() -> None:
    slots = ConnectionSlots(2)
    for at in (1.0, 2.0):
        slot = slots.admit(at, lambda: None)
        assert slot is not None
        slot.busy = True
    assert slots.admit(3.0, lambda: None) is None
    assert slots.refused == 1


def test_a_released_slot_makes_room_and_releasing_twice_is_harmless() -> None:
    slots = ConnectionSlots(1)
    slot = slots.admit(1.0, lambda: None)
    assert slot is not None
    slots.release(slot)
    slots.release(slot)
    assert slots.admit(2.0, lambda: None) is not None
    assert slots.evicted == 0


def test_the_connection_cap_fits_the_open_file_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connlimit.resource, "getrlimit", lambda _what: (1024, 4096))
    assert connlimit.connection_cap(256) == 128  # a quarter of 1,024 for the two servers
    assert connlimit.connection_cap(50) == 50
    monkeypatch.setattr(connlimit.resource, "getrlimit", lambda _what: (20, 4096))
    assert connlimit.connection_cap(256) == 2

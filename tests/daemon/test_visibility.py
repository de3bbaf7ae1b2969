from __future__ import annotations

import asyncio
import subprocess
import sys

from uidt.daemon.visibility import Visibility
from uidt.testing import FakeClock


def make(clock: FakeClock) -> tuple[Visibility, list[tuple[str, bool]]]:
    notes: list[tuple[str, bool]] = []
    visibility = Visibility(
        clock=clock,
        grace_ms=10_000,
        note_visible=lambda a, v: notes.append((a, v)),
        changed=lambda: None,
    )
    return visibility, notes


def test_an_open_activity_makes_the_app_visible_until_closed() -> None:
    visibility, notes = make(FakeClock())
    token = visibility.open("org.a", None)
    assert visibility.is_visible("org.a", None)
    assert not visibility.is_visible("org.b", None)
    assert not visibility.close("org.b", token), "another app's token is refused"
    assert visibility.close("org.a", token)
    assert not visibility.is_visible("org.a", None)
    assert notes == [("org.a", True), ("org.a", False)]


def test_an_interaction_grant_lasts_the_grace_period() -> None:
    clock = FakeClock()
    visibility, _ = make(clock)
    assert not visibility.has_grant("org.a")
    visibility.grant("org.a")
    clock.advance(10_000)
    assert visibility.has_grant("org.a")
    clock.advance(1)
    assert not visibility.has_grant("org.a")


async def test_an_activity_ends_when_its_process_exits() -> None:
    visibility, notes = make(FakeClock())
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; sys.stdin.read()", stdin=subprocess.PIPE
    )
    visibility.open("org.a", child.pid)
    assert visibility.is_visible("org.a", None)
    ended = asyncio.Event()
    visibility._changed = ended.set
    assert child.stdin is not None
    child.stdin.close()
    await asyncio.wait_for(ended.wait(), 10)
    await child.wait()
    assert not visibility.is_visible("org.a", None)
    assert notes[-1] == ("org.a", False)


async def test_a_foreground_scheduler_keeps_the_app_visible_while_it_lives() -> None:
    visibility, notes = make(FakeClock())
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; sys.stdin.read()", stdin=subprocess.PIPE
    )
    visibility.hold_while_alive("org.a", child.pid)
    visibility.hold_while_alive("org.a", child.pid)  # the same process again: one hold
    assert visibility.is_visible("org.a", None)
    assert notes == [("org.a", True)]
    ended = asyncio.Event()
    visibility._changed = ended.set
    assert child.stdin is not None
    child.stdin.close()
    await asyncio.wait_for(ended.wait(), 10)
    await child.wait()
    assert not visibility.is_visible("org.a", None)
    assert notes[-1] == ("org.a", False)


def test_a_request_from_a_process_outside_the_foreground_holds_nothing() -> None:
    """Visible through another process's activity: the caller itself keeps nothing open."""
    visibility, notes = make(FakeClock())
    token = visibility.open("org.a", None)
    # a new session has no controlling terminal: never in a foreground process group
    with subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
        start_new_session=True,
    ) as caller:
        try:
            assert visibility.note_request("org.a", caller.pid)
            visibility.close("org.a", token)
            assert not visibility.is_visible("org.a", None)
            assert not visibility.note_request("org.a", caller.pid)
        finally:
            caller.kill()
    assert notes == [("org.a", True), ("org.a", False)]

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

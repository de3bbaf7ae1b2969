"""Fixtures for the host tests: the test app's manifest, an AppHost with an event queue."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from uidt.host.apphost import AppHost
from uidt.host.events import EventQueue, HostEvent
from uidt.job.params import JobParameters
from uidt.packages.manifest import Manifest, load_manifest

APPS = Path(__file__).parent / "apps"
APP = "org.test.host"
E = TypeVar("E")


@pytest.fixture
def manifest() -> Manifest:
    """The test app (``tests/host/apps/hosttest``)."""
    return load_manifest(APPS / "hosttest" / "uidt.toml")


def other_app(manifest: Manifest, package: str) -> Manifest:
    """The same services under another package name (a second app)."""
    data = manifest.to_dict()
    data["package"] = package
    return Manifest.from_dict(data)


@pytest.fixture
def events() -> EventQueue:
    return EventQueue()


@pytest.fixture
async def host(events: EventQueue) -> AsyncIterator[AppHost]:
    host = AppHost(events, idle_timeout_s=30)
    try:
        yield host
    finally:
        await host.close()


def params(job_id: int, run_id: int, folder: Path, **extras: Any) -> JobParameters:
    """Parameters of a user-initiated run that logs into ``folder``."""
    return JobParameters(
        job_id=job_id,
        extras={"dir": str(folder), **extras},
        user_initiated=True,
        run_id=run_id,
    )


async def next_event(
    events: EventQueue,
    kind: type[E],
    where: Callable[[E], bool] = lambda _e: True,
    *,
    within_s: float = 10.0,
    seen: list[HostEvent] | None = None,
) -> E:
    """The next event of ``kind`` matching ``where``; others are skipped (kept in ``seen``)."""
    while True:
        event = await events.get(within_s)
        if isinstance(event, kind) and where(event):
            return event
        if seen is not None:
            seen.append(event)


def log_lines(folder: Path, job_id: int) -> list[str]:
    path = folder / f"{job_id}.log"
    return path.read_text().splitlines() if path.exists() else []

"""Fixtures for the Task Manager tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from uidt.testing.browser import Browser, find_chromium

from .fake_runtime import FakeRuntime, job

APP = "org.example.photos"
OTHER = "org.example.music"


@pytest.fixture
def runtime() -> FakeRuntime:
    """Two apps: one running download (half done) and a waiting upload of another app."""
    return FakeRuntime(
        [
            job(APP, 1, title="Downloading holiday.mp4", progress=0.5, done=500, total=1000),
            job(
                OTHER,
                2,
                "waiting",
                namespace="sync",
                pending_reasons=[6],
                stop_reason=7,
                internal_stop_reason=1,
            ),
        ]
    )


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium on a phone-sized page; skipped when no Chromium is installed."""
    if find_chromium() is None:
        pytest.skip("no Chromium: run .ci/install-browser (installs Debian chromium)")
    async with Browser.launch() as launched:
        yield launched


@pytest.fixture
def output_dir(pytestconfig: pytest.Config) -> Path:
    """``test-output/`` at the repository root (git-ignored), for screenshots."""
    path = pytestconfig.rootpath / "test-output"
    path.mkdir(exist_ok=True)
    return path

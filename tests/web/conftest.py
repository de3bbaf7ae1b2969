"""Fixtures for the Task Manager tests."""

from __future__ import annotations

import pytest

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

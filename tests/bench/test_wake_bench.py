"""The wake benchmark's trials, a few of each: every job scheduled on A is claimed by B."""

from __future__ import annotations

import pytest
from bench.wake_bench import trials


@pytest.mark.postgres
@pytest.mark.parametrize("listen", [True, False], ids=["notify", "periodic"])
async def test_each_job_is_claimed_once_by_the_idle_host(postgres_url: str, listen: bool) -> None:
    seconds = await trials(postgres_url, 3, 1_500, listen=listen)
    assert len(seconds) == 3
    assert all(s > 0 for s in seconds)

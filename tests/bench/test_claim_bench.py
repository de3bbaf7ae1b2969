"""The claim benchmark's drains, on a few jobs: every job done once, by the hosts together."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.claim_bench import drain_postgres, drain_sqlite


@pytest.mark.postgres
def test_hosts_drain_every_job_once(postgres_url: str) -> None:
    elapsed, latencies, done = drain_postgres(postgres_url, 30, 3)
    assert sum(done.values()) == 30
    assert len(latencies) == 30 + 3  # one empty claim ends each host
    assert elapsed > 0


def test_sqlite_drains_every_job(tmp_path: Path) -> None:
    elapsed, latencies = drain_sqlite(tmp_path / "uidt.db", 30)
    assert len(latencies) == 30
    assert elapsed > 0

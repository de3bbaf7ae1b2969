"""The label claim benchmark on a few jobs: every claim skips the blocked jobs."""

from __future__ import annotations

import pytest
from bench.label_claim_bench import claim_latencies, fill


@pytest.mark.postgres
@pytest.mark.parametrize("labels", [(), ("ssd",)], ids=["plain", "ssd"])
def test_claims_take_only_jobs_without_labels(postgres_url: str, labels: tuple[str, ...]) -> None:
    fill(postgres_url, 20, 5)
    assert len(claim_latencies(postgres_url, labels, 5)) == 5

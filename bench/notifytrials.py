"""The frame shared by the fleet's NOTIFY benchmarks (``wake_bench``, ``stop_bench``).

Each runs its trials on a throwaway PostgreSQL cluster twice, once with the hosts listening
for notifications and once without (the periodic tick only), and prints one line per case.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from uidt.testing.postgres import ClusterUnavailable, TemporaryCluster

#: ``trials(url, count, lease_ms, listen=...)``: seconds per trial.
Trials = Callable[..., Coroutine[Any, Any, list[float]]]


def summary(seconds: list[float]) -> str:
    """Median, p99, min and max of ``seconds`` in milliseconds, and how many."""
    ms = sorted(x * 1000 for x in seconds)
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]
    return (
        f"median {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, "
        f"min {ms[0]:.1f} ms, max {ms[-1]:.1f} ms ({len(ms)} trials)"
    )


def with_and_without_notify(
    name: str,
    trials: Trials,
    argv: list[str] | None,
    *,
    default_trials: int,
    default_lease_ms: int,
    describe: Callable[[int, bool], str],
) -> None:
    """Run ``trials`` listening and not; ``argv``: ``[COUNT [LEASE_MS]]``.

    ``describe(lease_ms, listen)`` words the case; the summary follows it on the line.
    """
    args = argv if argv is not None else sys.argv[2:] if len(sys.argv) > 2 else []
    count = int(args[0]) if args else default_trials
    lease_ms = int(args[1]) if len(args) > 1 else default_lease_ms
    cluster = TemporaryCluster()
    try:
        cluster.start(fsync=True)
    except ClusterUnavailable as exc:
        print(f"{name} skipped: no PostgreSQL here ({exc})", flush=True)
        return
    try:
        for listen in (True, False):
            seconds = asyncio.run(trials(cluster.new_database(), count, lease_ms, listen=listen))
            print(f"{describe(lease_ms, listen)}: {summary(seconds)}", flush=True)
    finally:
        cluster.stop()

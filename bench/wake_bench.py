"""Waking an idle host: from a job scheduled on host A (which may not run it) to its claim on B.

Two hosts on one throwaway PostgreSQL database (``uidt.testing.postgres``, fsync on). Host A has
no labels; host B has the label ``gpu`` and runs its daemon's lease keeper
(:class:`uidt.daemon.leases.LeaseKeeper`: heartbeats, the periodic claim every third of the
lease, and — when listening — the claim on each ``NOTIFY``). Each trial: a pause of a random
part of B's claim period (so the schedule falls anywhere in it), then A stores a job requiring
``gpu`` (``put_job``: free to claim, plus the notification); the time is measured until B's
keeper hands the claimed job to its core (``on_claimed``, where a daemon starts the job), then B
removes the job. The same trials run with B listening (``WakeListener``) and without (the
periodic claim alone).

Run with ``python -m bench wake_bench`` (``UIDT_BENCH_RUNS`` or 40 trials per mode, a 3 s lease,
so the periodic claim comes every second), or ``python -m bench.wake_bench [TRIALS] [LEASE_MS]``
(e.g. ``20 30000``: the default lease, a periodic claim every 10 s). Needs PostgreSQL installed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import sys
import time

from bench.notifytrials import with_and_without_notify
from uidt.daemon.leases import LeaseKeeper
from uidt.job.key import JobKey
from uidt.store.pg_wake import WakeListener
from uidt.store.postgres import PostgresJobStore
from uidt.store.record import JobRecord
from uidt.testing.store_contract import make_record

TRIALS = int(os.environ.get("UIDT_BENCH_RUNS", "40"))
LEASE_MS = 3_000


def _job(job_id: int) -> JobRecord:
    record = make_record(job_id=job_id)
    record.job = dataclasses.replace(record.job, required_host_labels=("gpu",))
    return record


async def trials(url: str, count: int, lease_ms: int, *, listen: bool) -> list[float]:
    """Seconds from A's ``put_job`` to B's ``on_claimed``, one per trial."""
    a = PostgresJobStore(url, host_id="host-a", lease_ms=lease_ms)
    b = PostgresJobStore(url, host_id="host-b", lease_ms=lease_ms, host_labels=["gpu"])
    arrived: asyncio.Queue[float] = asyncio.Queue()

    def claimed(records: list[JobRecord]) -> list[JobKey]:
        for _ in records:
            arrived.put_nowait(time.perf_counter())
        return []

    listener = WakeListener(url) if listen else None
    keeper = LeaseKeeper(b, lambda _key: None, on_claimed=claimed, wakes=listener)
    running = asyncio.create_task(keeper.run())
    seconds: list[float] = []
    try:
        deadline = time.monotonic() + 10
        while listener is not None and not listener.listening:
            if time.monotonic() > deadline:
                raise RuntimeError("host B never listened")
            await asyncio.sleep(0.01)
        for n in range(count):
            await asyncio.sleep(random.uniform(0, keeper.period_s))
            began = time.perf_counter()
            await asyncio.to_thread(a.put_job, _job(1000 + n))
            seconds.append(await asyncio.wait_for(arrived.get(), 4 * keeper.period_s) - began)
            await asyncio.to_thread(b.remove_job, JobKey("com.example", None, 1000 + n))
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        a.close()
        b.close()
    return seconds


def _describe(lease_ms: int, listen: bool) -> str:
    how = "with NOTIFY" if listen else "periodic claim only"
    return (
        f"schedule on A -> claimed on idle B, lease {lease_ms / 1000:g} s "
        f"(claim every {lease_ms / 3000:g} s), {how}"
    )


def main(argv: list[str] | None = None) -> None:
    with_and_without_notify(
        "wake_bench",
        trials,
        argv,
        default_trials=TRIALS,
        default_lease_ms=LEASE_MS,
        describe=_describe,
    )


if __name__ == "__main__":
    main(sys.argv[1:])

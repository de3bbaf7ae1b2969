"""A stop sent from another host: from host B's stop request to the stop on host A holding the job.

Two hosts on one throwaway PostgreSQL database (``uidt.testing.postgres``, fsync on). Host A
holds a job and runs its daemon's lease keeper (heartbeats, and every third of the lease its
tick, which picks up the stop requests) and fleet desk (:class:`uidt.daemon.fleet.FleetDesk`,
with a stand-in runtime that records the stop). Each trial: a pause of a random part of A's tick
period (so the request falls anywhere in it), then B writes a stop request for A's job
(``request_stop``, which also sends ``NOTIFY uidt_stops``); the time is measured until A's desk
stops the app (``user_stop``). The same trials run with A listening (``WakeListener``, the
stop picked up on the notification) and without (at A's tick alone).

Run with ``python -m bench stop_bench`` (``UIDT_BENCH_RUNS`` or 20 trials per mode, a 3 s lease,
so the tick comes every second), or ``python -m bench.stop_bench [TRIALS] [LEASE_MS]``. Needs
PostgreSQL installed.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from typing import Any

from bench.notifytrials import with_and_without_notify
from uidt.daemon.fleet import FleetDesk
from uidt.daemon.leases import LeaseKeeper
from uidt.job.key import JobKey
from uidt.store.pg_wake import WakeListener
from uidt.store.postgres import PostgresJobStore
from uidt.testing.store_contract import make_record

TRIALS = int(os.environ.get("UIDT_BENCH_RUNS", "20"))
LEASE_MS = 3_000
APP = "com.example"


class _Status:
    def __init__(self, generation: int) -> None:
        self.generation = generation


class _Runtime:
    """The runtime members the fleet desk uses; each stop lands in ``stopped``."""

    def __init__(self) -> None:
        self.stopped: asyncio.Queue[float] = asyncio.Queue()
        self.service = type("S", (), {"jobs": {}, "running": {}})()
        self.store = self

    async def sync(self) -> None:
        return None

    def jobs_snapshot(self, app: str | None, *, include_finished: bool) -> list[dict[str, Any]]:
        return []

    def user_stop(self, app: str) -> list[dict[str, Any]]:
        self.stopped.put_nowait(time.perf_counter())
        return []


async def trials(url: str, count: int, lease_ms: int, *, listen: bool) -> list[float]:
    """Seconds from B's ``request_stop`` to A's ``user_stop``, one per trial."""
    a = PostgresJobStore(url, host_id="host-a", lease_ms=lease_ms)
    b = PostgresJobStore(url, host_id="host-b", lease_ms=lease_ms)
    runtime = _Runtime()
    desk = FleetDesk(runtime, a.fleet)  # type: ignore[arg-type]
    listener = WakeListener(url) if listen else None
    keeper = LeaseKeeper(a, lambda _key: None, wakes=listener)
    keeper.after_tick.append(desk.tick)
    keeper.on_stop_request = desk.stop_requested
    running = asyncio.create_task(keeper.run())
    seconds: list[float] = []
    try:
        deadline = time.monotonic() + 10
        while listener is not None and not listener.listening:
            if time.monotonic() > deadline:
                raise RuntimeError("host A never listened")
            await asyncio.sleep(0.01)
        for n in range(count):
            key = JobKey(APP, None, 1000 + n)
            await asyncio.to_thread(a.put_job, make_record(job_id=key.job_id))
            runtime.service.jobs[key] = _Status(1)
            await asyncio.sleep(random.uniform(0, keeper.period_s))
            began = time.perf_counter()
            await asyncio.to_thread(b.fleet.request_stop, key, 1)
            seconds.append(
                await asyncio.wait_for(runtime.stopped.get(), 4 * keeper.period_s) - began
            )
            del runtime.service.jobs[key]
            await asyncio.to_thread(a.remove_job, key)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        a.close()
        b.close()
    return seconds


def _describe(lease_ms: int, listen: bool) -> str:
    how = "with NOTIFY" if listen else "at the holder's tick only"
    return (
        f"stop request on B -> stop on A, lease {lease_ms / 1000:g} s "
        f"(tick every {lease_ms / 3000:g} s), {how}"
    )


def main(argv: list[str] | None = None) -> None:
    with_and_without_notify(
        "stop_bench",
        trials,
        argv,
        default_trials=TRIALS,
        default_lease_ms=LEASE_MS,
        describe=_describe,
    )


if __name__ == "__main__":
    main(sys.argv[1:])

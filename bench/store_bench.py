"""Job store benchmark: schedule-and-commit rate, load time for 10,000 jobs, size per job, and
what the daemon's loop pays per store write through the ``StoreWriter`` (``uidt.store.writer``).

Run with ``python -m bench store_bench``. The stores live in a temporary folder under ``$TMPDIR``
(``/tmp`` by default), so the fsync figures are those of that file system.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.job.network import NetworkType
from uidt.store.base import JobStore
from uidt.store.memory import MemoryJobStore
from uidt.store.record import JobRecord
from uidt.store.sqlite import SqliteJobStore, Synchronous
from uidt.store.writer import StoreWriter

LOAD_JOBS = 10_000
COMMITS = 1_000
#: Background writes: this many jobs, each written COMMITS // STAMPED_JOBS times.
STAMPED_JOBS = 100
#: Clients scheduling at the same time, each awaiting its own durable answer.
CLIENTS = 20


def _record(job_id: int) -> JobRecord:
    info = (
        JobInfo.Builder(job_id, "example_app.transfers:TransferService")
        .set_persisted(True)
        .set_required_network_type(NetworkType.ANY)
        .set_estimated_network_bytes(50_000_000, 0)
        .set_extras({"url": f"https://example.org/files/{job_id}.bin", "dest": f"/data/{job_id}"})
        .build()
    )
    return JobRecord(
        key=JobKey(f"com.example.app{job_id % 20}", None, job_id),
        job=info,
        enqueue_time_utc_ms=1_700_000_000_000 + job_id,
        history=[{"time": 1_700_000_000_000, "state": "pending", "reason": "scheduled"}],
    )


def _commit_rate(store: JobStore, count: int) -> float:
    records = [_record(i) for i in range(count)]
    start = time.perf_counter()
    for record in records:
        store.put_job(record)
    return count / (time.perf_counter() - start)


def _sqlite_commit_rate(folder: Path, synchronous: Synchronous) -> float:
    with SqliteJobStore(folder / f"rate-{synchronous}.db", synchronous=synchronous) as store:
        return _commit_rate(store, COMMITS)


def _load_figures(folder: Path) -> tuple[float, float, float]:
    """(open seconds, load_jobs seconds, bytes per job) for LOAD_JOBS persisted jobs."""
    path = folder / "load.db"
    with SqliteJobStore(path, synchronous="NORMAL") as store:  # quick fill; FULL adds nothing here
        for i in range(LOAD_JOBS):
            store.put_job(_record(i))
    size = sum(p.stat().st_size for p in folder.glob("load.db*"))
    start = time.perf_counter()
    store = SqliteJobStore(path)
    opened = time.perf_counter()
    jobs = store.load_jobs()
    loaded = time.perf_counter()
    store.close()
    assert len(jobs) == LOAD_JOBS
    return opened - start, loaded - opened, size / LOAD_JOBS


def _background_writes(folder: Path) -> tuple[float, float, int]:
    """COMMITS writes to STAMPED_JOBS jobs nobody waits for (runtime stamps, reschedules).

    Returns (loop µs per write, ms until all are on disk, commits it took)."""
    records = [_record(i % STAMPED_JOBS) for i in range(COMMITS)]
    writer = StoreWriter(SqliteJobStore(folder / "background.db"))
    try:
        start = time.perf_counter()
        for first in range(0, COMMITS, 10):  # ten writes per flush of the runtime
            with writer.batch():
                for record in records[first : first + 10]:
                    writer.put_job(record)
        queued = time.perf_counter()
        writer.flush()
        done = time.perf_counter()
        return (queued - start) / COMMITS * 1e6, (done - start) * 1000, writer.commits
    finally:
        writer.close()


async def _durable_schedules(folder: Path) -> tuple[float, float, int]:
    """CLIENTS concurrent clients, each putting a job and awaiting ``sync()`` (``schedule()``).

    Returns (schedules/s, median µs the loop spent per put, commits it took)."""
    writer = StoreWriter(SqliteJobStore(folder / "durable.db"))
    loop_us: list[float] = []

    async def client(number: int) -> None:
        for job_id in range(number, COMMITS, CLIENTS):
            start = time.perf_counter()
            writer.put_job(_record(job_id))
            loop_us.append((time.perf_counter() - start) * 1e6)
            await writer.sync()

    try:
        start = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(CLIENTS)))
        rate = COMMITS / (time.perf_counter() - start)
        return rate, statistics.median(loop_us), writer.commits
    finally:
        writer.close()


def main() -> None:
    """Print the store figures."""
    with tempfile.TemporaryDirectory(prefix="uidt-store-bench-") as tmp:
        folder = Path(tmp)
        print(f"folder: {folder} (fs type: {_fs_type(folder)})")
        full = _sqlite_commit_rate(folder, "FULL")
        normal = _sqlite_commit_rate(folder, "NORMAL")
        memory = _commit_rate(MemoryJobStore(), COMMITS)
        print(
            f"put_job (persisted) sqlite FULL:   {full:8.0f} commits/s ({1000 / full:.2f} ms each)"
        )
        print(
            f"put_job (persisted) sqlite NORMAL: {normal:8.0f} commits/s ({1000 / normal:.2f} ms each)"
        )
        print(f"put_job memory:                    {memory:8.0f} puts/s")
        open_s, load_s, per_job = _load_figures(folder)
        print(f"open store with {LOAD_JOBS} jobs: {open_s * 1000:.0f} ms")
        print(f"load_jobs() of {LOAD_JOBS} jobs: {load_s * 1000:.0f} ms (target < 1000 ms)")
        print(f"store size: {per_job:.0f} bytes per job")
        per_write, all_ms, commits = _background_writes(folder)
        print(
            f"writer, {COMMITS} background writes to {STAMPED_JOBS} jobs: loop {per_write:.1f} µs"
            f" per write (direct FULL: {1e6 / full:.0f} µs), on disk after {all_ms:.0f} ms,"
            f" {commits} commits"
        )
        rate, loop_us, commits = asyncio.run(_durable_schedules(folder))
        print(
            f"writer, {COMMITS} durable schedules from {CLIENTS} clients: {rate:.0f}/s"
            f" (direct FULL, one at a time: {full:.0f}/s), loop {loop_us:.1f} µs per put,"
            f" {commits} commits"
        )


def _fs_type(folder: Path) -> str:
    best, kind = "", "?"
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                parts = line.split()
                if (
                    len(parts) > 2
                    and os.fspath(folder).startswith(parts[1])
                    and len(parts[1]) > len(best)
                ):
                    best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


if __name__ == "__main__":
    main()

"""The claim path of the shared PostgreSQL store: hosts draining a queue of small jobs.

Each host (its own ``PostgresJobStore``, its own thread) loops: claim up to ``BATCH`` jobs
(``FOR UPDATE SKIP LOCKED``), then remove each (the job is done) — the store work a host does per
job, without running anything. Reported: jobs/s for the whole drain and the p50/p99 latency of
one claim call. The same drain on SQLite with one host (``load_jobs`` once, then ``remove_job``
per job; SQLite has no claim) gives the single-host figure it is compared with.

Run with ``python -m bench claim_bench [JOBS] [HOSTS]`` (10,000 jobs and 3 hosts by default). It
starts a throwaway PostgreSQL cluster (``uidt.testing.postgres``, with fsync on, so its commits are
as durable as SQLite's ``FULL``) and needs PostgreSQL installed.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from uidt.job.key import JobKey
from uidt.store.postgres import PostgresJobStore
from uidt.store.sqlite import SqliteJobStore
from uidt.testing.postgres import ClusterUnavailable, TemporaryCluster
from uidt.testing.store_contract import make_record

JOBS = 10_000
HOSTS = 3
BATCH = 1


def _fill(store: PostgresJobStore | SqliteJobStore, jobs: int) -> None:
    for job_id in range(jobs):
        store.put_job(make_record(f"app{job_id % 10}", job_id))


def drain_postgres(url: str, jobs: int, hosts: int) -> tuple[float, list[float], dict[str, int]]:
    """Seconds for ``hosts`` to drain ``jobs``, every claim's latency, jobs done per host."""
    with PostgresJobStore(url, host_id="filler") as filler:
        _fill(filler, jobs)
        filler.release_all()
    stores = [PostgresJobStore(url, host_id=f"host{n}") for n in range(hosts)]
    latencies: list[list[float]] = [[] for _ in stores]
    done = dict.fromkeys((s.host_id for s in stores), 0)
    start = threading.Barrier(hosts + 1)

    def host(index: int) -> None:
        store = stores[index]
        start.wait()
        while True:
            began = time.perf_counter()
            batch = store.claim(limit=BATCH)
            latencies[index].append(time.perf_counter() - began)
            if not batch:
                return
            for record in batch:
                store.remove_job(record.key)
            done[store.host_id] += len(batch)

    threads = [threading.Thread(target=host, args=(n,)) for n in range(hosts)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for store in stores:
        store.close()
    return elapsed, [x for per in latencies for x in per], done


def drain_sqlite(path: Path, jobs: int) -> tuple[float, list[float]]:
    """Seconds for one host to drain ``jobs`` from SQLite, and each job's store latency."""
    with SqliteJobStore(path) as store:
        _fill(store, jobs)
    with SqliteJobStore(path) as store:
        began = time.perf_counter()
        latencies: list[float] = []
        for record in store.load_jobs():
            one = time.perf_counter()
            store.remove_job(JobKey(record.key.app, record.key.namespace, record.key.job_id))
            latencies.append(time.perf_counter() - one)
        return time.perf_counter() - began, latencies


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[2:] if len(sys.argv) > 2 else []
    jobs = int(args[0]) if args else JOBS
    hosts = int(args[1]) if len(args) > 1 else HOSTS
    cluster = TemporaryCluster()
    try:
        cluster.start(fsync=True)  # commits as durable as SQLite's FULL
    except ClusterUnavailable as exc:
        print(f"claim_bench skipped: no PostgreSQL here ({exc})", flush=True)
        return
    try:
        url = cluster.new_database()
        elapsed, latencies, done = drain_postgres(url, jobs, hosts)
        print(
            f"postgresql, {hosts} hosts, {jobs} jobs: {jobs / elapsed:,.0f} jobs/s "
            f"({elapsed:.2f} s); claim p50 {_p(latencies, 50):.2f} ms, "
            f"p99 {_p(latencies, 99):.2f} ms; per host {sorted(done.values())}",
            flush=True,
        )
    finally:
        cluster.stop()
    with tempfile.TemporaryDirectory() as folder:
        sq_elapsed, sq_latencies = drain_sqlite(Path(folder) / "uidt.db", jobs)
    print(
        f"sqlite, 1 host, {jobs} jobs: {jobs / sq_elapsed:,.0f} jobs/s ({sq_elapsed:.2f} s); "
        f"remove p50 {_p(sq_latencies, 50):.2f} ms, p99 {_p(sq_latencies, 99):.2f} ms",
        flush=True,
    )
    print(f"ratio postgresql / sqlite jobs/s: {(jobs / elapsed) / (jobs / sq_elapsed):.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])

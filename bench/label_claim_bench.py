"""Claims past jobs that wait for a host label nobody offers (migration 0003's partial index).

A throwaway PostgreSQL cluster holds ``BLOCKED`` jobs requiring the label ``nvme`` (no host has
it) first in claim order, then ``FREE`` jobs any host may run. A host claims one job at a time,
``CLAIMS`` times (giving them back between rounds), and the latency of each claim is reported:
for a host without labels (its claim walks the partial index of jobs without labels), for a
host with the label ``ssd`` (it walks the enqueue-order index past the blocked jobs), and for a
host without labels once the partial index is dropped (the walk it saves).

Run with ``python -m bench label_claim_bench`` or ``python -m bench.label_claim_bench [BLOCKED]``
(10,000 by default). Needs PostgreSQL installed.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from collections.abc import Sequence

import psycopg

from uidt.store import codec
from uidt.store.postgres import PostgresJobStore
from uidt.testing.postgres import ClusterUnavailable, TemporaryCluster
from uidt.testing.store_contract import make_record

BLOCKED = 10_000
FREE = 200
CLAIMS = 100
INDEX = "uidt_jobs_unlabelled_by_enqueue"


def fill(url: str, blocked: int, free: int) -> None:
    """``blocked`` jobs requiring ``nvme``, then ``free`` jobs without labels, all free."""
    PostgresJobStore(url, host_id="migrator").close()  # creates the schema
    rows = []
    for job_id in range(blocked + free):
        labels = ("nvme",) if job_id < blocked else ()
        record = make_record(job_id=job_id, enqueue_time_utc_ms=job_id)
        record.job = dataclasses.replace(record.job, required_host_labels=labels)
        rows.append((job_id, codec.job_record_to_json(record), list(labels)))
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO uidt_jobs (app, namespace, job_id, record, enqueue_time_utc_ms, "
                "required_labels, lease_owner, lease_expires_utc_ms, lease_generation) "
                "VALUES ('com.example', '', %s, %s, %s, %s::text[], NULL, 0, "
                "nextval('uidt_lease_generation'))",
                [(job_id, text, job_id, labels) for job_id, text, labels in rows],
            )
        conn.execute("ANALYZE uidt_jobs")


def claim_latencies(url: str, labels: Sequence[str], claims: int) -> list[float]:
    """Seconds of each of ``claims`` one-job claims by a host with ``labels``."""
    store = PostgresJobStore(url, host_id=f"host-{'-'.join(labels) or 'plain'}", host_labels=labels)
    seconds: list[float] = []
    try:
        for _ in range(claims):
            began = time.perf_counter()
            [record] = store.claim(1)
            seconds.append(time.perf_counter() - began)
            assert not record.job.required_host_labels
        store.release_all()
    finally:
        store.close()
    return seconds


def _summary(seconds: list[float]) -> str:
    ms = [x * 1000 for x in seconds]
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98]
    return f"median {statistics.median(ms):.2f} ms, p99 {p99:.2f} ms"


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[2:] if len(sys.argv) > 2 else []
    blocked = int(args[0]) if args else BLOCKED
    cluster = TemporaryCluster()
    try:
        cluster.start()
    except ClusterUnavailable as exc:
        print(f"label_claim_bench skipped: no PostgreSQL here ({exc})", flush=True)
        return
    try:
        url = cluster.new_database()
        fill(url, blocked, FREE)
        past = f"claim(1) past {blocked:,} jobs waiting for a missing label"
        print(f"{past}, host without labels: {_summary(claim_latencies(url, (), CLAIMS))}")
        ssd = claim_latencies(url, ("ssd",), CLAIMS)
        print(f"{past}, host with label ssd: {_summary(ssd)}")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP INDEX {INDEX}")
        bare = claim_latencies(url, (), CLAIMS)
        print(f"{past}, host without labels, partial index dropped: {_summary(bare)}", flush=True)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main(sys.argv[1:])

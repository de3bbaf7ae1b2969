"""Prometheus metrics from successive job lists, scraped and parsed with prometheus_client."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("prometheus_client")

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from uidt.daemon.metrics import JobMetrics
from uidt.job.reasons import StopReason


def job(job_id: int, state: str, app: str = "org.example.app", **more: Any) -> dict[str, Any]:
    return {"app": app, "namespace": None, "job_id": job_id, "state": state, **more}


def scrape(metrics: JobMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, parsed back by prometheus_client's own parser."""
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_jobs_by_state_and_app_follow_the_last_list() -> None:
    metrics = JobMetrics()
    metrics.observe([job(1, "active"), job(2, "waiting"), job(3, "waiting", app="b")], [], 0.0)
    samples = scrape(metrics)
    assert samples[("uidt_jobs", (("app", "org.example.app"), ("state", "active")))] == 1
    assert samples[("uidt_jobs", (("app", "b"), ("state", "waiting")))] == 1
    metrics.observe([job(1, "active")], [], 1.0)
    samples = scrape(metrics)
    assert ("uidt_jobs", (("app", "b"), ("state", "waiting"))) not in samples  # no stale gauge


def test_starts_stops_by_reason_waits_and_latency() -> None:
    metrics = JobMetrics()
    metrics.observe([job(1, "waiting")], [], 0.0)
    metrics.observe([job(1, "ready")], [], 30.0)  # its constraints were met after 30 s
    metrics.observe([job(1, "active")], [], 30.5)  # and it ran half a second later
    metrics.observe(
        [job(1, "waiting", stop_reason=int(StopReason.CONSTRAINT_CONNECTIVITY))], [], 40.0
    )
    metrics.observe([job(1, "active")], [], 50.0)
    ended = [job(1, "finished", stop_reason=int(StopReason.UNDEFINED))]
    metrics.observe([], ended, 60.0)
    samples = scrape(metrics)
    app = ("app", "org.example.app")
    assert samples[("uidt_job_starts_total", (app,))] == 2
    stops = {k[1]: v for k, v in samples.items() if k[0] == "uidt_job_stops_total"}
    assert stops == {
        (app, ("end", "rescheduled"), ("stop_reason", "constraint_connectivity")): 1,
        (app, ("end", "finished"), ("stop_reason", "undefined")): 1,
    }
    assert samples[("uidt_constraint_wait_seconds_count", ())] == 2  # 30 s, then 10 s
    assert samples[("uidt_constraint_wait_seconds_sum", ())] == pytest.approx(40.0)
    assert samples[("uidt_scheduling_latency_seconds_count", ())] == 1
    assert samples[("uidt_scheduling_latency_seconds_sum", ())] == pytest.approx(0.5)


def test_bytes_transferred_and_the_rate() -> None:
    metrics = JobMetrics()
    for second, done in enumerate([0, 1000, 3000, 6000]):
        metrics.observe([job(1, "active", transferred_download_bytes=done)], [], float(second))
    # A new run of the same job starts again from zero.
    metrics.observe([job(1, "active", transferred_download_bytes=500)], [], 4.0)
    samples = scrape(metrics)
    key = (("app", "org.example.app"), ("direction", "download"))
    assert samples[("uidt_transferred_bytes_total", key)] == 6500
    assert samples[("uidt_transfer_rate_bytes_per_second", (("direction", "download"),))] == (
        pytest.approx(6500 / 4)
    )
    assert samples[("uidt_transfer_rate_bytes_per_second", (("direction", "upload"),))] == 0


def test_the_daemon_does_not_import_prometheus_client_unless_metrics_are_on() -> None:
    import subprocess
    import sys

    code = (
        "import sys, uidt.daemon.main, uidt.daemon.jobwatch, uidt.daemon.__main__; "
        "print('prometheus_client' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_store_commits_are_timed_once_the_metrics_watch_the_writer() -> None:
    from uidt.store.memory import MemoryJobStore
    from uidt.store.writer import StoreWriter
    from uidt.testing.store_contract import make_record

    metrics = JobMetrics()
    writer = StoreWriter(MemoryJobStore(), linger_s=3600.0)
    try:
        writer.put_job(make_record(job_id=1))
        writer.flush()  # before the metrics watch: not counted
        metrics.watch_store(writer)
        for job_id in (2, 3):
            writer.put_job(make_record(job_id=job_id))
            writer.flush()
    finally:
        writer.close()
    samples = scrape(metrics)
    assert samples[("uidt_store_commit_seconds_count", ())] == 2
    assert samples[("uidt_store_commit_seconds_bucket", (("le", "+Inf"),))] == 2

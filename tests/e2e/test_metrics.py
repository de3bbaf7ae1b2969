"""The Prometheus endpoint of a real daemon, scraped over loopback and parsed."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("prometheus_client")

from prometheus_client.parser import text_string_to_metric_families

from uidt import JobScheduler
from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.names import TRANSFERS_APP

from .conftest import SAMPLE, SAMPLE_DIR, Daemon, uij, wait_for

DATA = os.urandom(1024 * 1024 + 7)


def _scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(url, timeout=10) as answer:  # loopback only
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def test_a_download_shows_in_the_metrics_and_in_json_log_lines(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    daemon = Daemon(
        home, settings={"metrics": "127.0.0.1:0"}, extra_args=("--log-format", "json")
    ).start()
    try:
        url = daemon.api("GET", "/v1/status")["metrics_url"]
        assert url.startswith("http://127.0.0.1:")
        with ThreadedTransferTestServer() as server:
            server.add_file("/m.bin", DATA)
            server.throttle("/m.bin", 1024 * 1024)  # about a second: seen running, not only ended
            done = daemon.uidt(
                "download", server.url("/m.bin"), "-o", str(tmp_path / "m.bin"), "--wait"
            )
            assert done.returncode == 0, done.stderr

        def stopped() -> dict[str, list[tuple[dict[str, str], float]]] | None:
            found = _scrape(url)
            return found if found.get("uidt_job_stops_total") else None

        found = wait_for(stopped, what="the finished download in the metrics")
        starts = {labels["app"]: value for labels, value in found["uidt_job_starts_total"]}
        assert starts[TRANSFERS_APP] == 1
        [(labels, value)] = found["uidt_job_stops_total"]
        assert labels == {"app": TRANSFERS_APP, "stop_reason": "undefined", "end": "finished"}
        assert value == 1
        assert "uidt_transfer_rate_bytes_per_second" in found
        [(labels, sent)] = found["uidt_transferred_bytes_total"]
        assert labels == {"app": TRANSFERS_APP, "direction": "download"}
        assert 0 < sent <= len(DATA)  # sampled while it ran: the last stretch may go unseen
        assert "uidt_scheduling_latency_seconds_count" in found
        assert "uidt_constraint_wait_seconds_count" in found
    finally:
        daemon.stop()
    assert daemon.returncode == 0
    lines = [json.loads(line) for line in (home / "logs" / "daemon.log").read_text().splitlines()]
    assert any(line["message"].startswith("uidt daemon") for line in lines)
    ran = [line for line in lines if line.get("app") == TRANSFERS_APP]
    assert [line["message"].split(":")[0].rsplit(" ", 1)[-1] for line in ran] == [
        "started",
        "stopped",
    ]
    assert ran[1]["end"] == "finished"
    assert ran[0]["job_id"] == ran[1]["job_id"]


def _commits(url: str) -> tuple[float, float]:
    """``uidt_store_commit_seconds``: (count, sum) of one scrape."""
    found = _scrape(url)
    [(_, count)] = found["uidt_store_commit_seconds_count"]
    [(_, total)] = found["uidt_store_commit_seconds_sum"]
    return count, total


def test_every_store_commit_is_timed_and_a_schedule_adds_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    daemon = Daemon(home, settings={"metrics": "127.0.0.1:0"}).start()
    try:
        url = daemon.api("GET", "/v1/status")["metrics_url"]
        daemon.install(SAMPLE_DIR)  # a commit the install's answer waited for
        before, _ = _commits(url)
        assert before >= 1
        scheduler = daemon.scheduler()
        with scheduler.activity():
            job = uij(1, "run", tmp_path / "app.log", persisted=True)
            assert scheduler.schedule(job) == JobScheduler.RESULT_SUCCESS
        # schedule() answered once its commit was on disk, so the scrape already holds it
        after, seconds = _commits(url)
        assert after > before
        assert 0 < seconds < 60 * after  # real durations, not a count in disguise
        buckets = {
            labels["le"]: value
            for labels, value in _scrape(url)["uidt_store_commit_seconds_bucket"]
        }
        assert buckets["+Inf"] == after

        def listed() -> list[tuple[dict[str, str], float]] | None:
            rows = [row for row in _scrape(url).get("uidt_jobs", []) if row[0]["app"] == SAMPLE]
            return rows or None

        # the job list is sampled (at least every 2 s): the scheduled job shows by app and state
        [(labels, count)] = wait_for(listed, what="the scheduled job in uidt_jobs")
        assert labels["state"] in ("active", "pending", "ready", "waiting")
        assert count == 1
    finally:
        daemon.stop()
    assert daemon.returncode == 0


def test_a_taken_metrics_port_fails_the_start_with_the_reason(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        daemon = Daemon(home, settings={"metrics": f"127.0.0.1:{port}"})
        with pytest.raises(AssertionError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            daemon.start()

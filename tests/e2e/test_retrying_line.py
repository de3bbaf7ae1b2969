"""A transfer that cannot reach its server says so at once (issue 15): a real daemon, a real
worker and the real ``uidt download … --wait`` against a closed port print one line saying it
retries and why within its first attempts (not a bare bar for a minute); ``uidt jobs --json`` and
dumpsys show the reason; ``uidt cancel`` ends it, and still does once the run gave up and the job
waits for its backoff. The password of the URL appears nowhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from uidt.testing.httpserver import Faults, ThreadedTransferTestServer
from uidt.transfers.jobs import TRANSFERS_APP, job_id_for
from uidt.transfers.patience import patience_path

from .conftest import Daemon, clean_env, read_lines_until, reap, wait_for

SECRET = "s3cret-pw"


def _closed_port() -> int:
    with ThreadedTransferTestServer() as gone:
        return gone.port


def test_wait_says_at_once_that_a_closed_port_is_retried_and_cancel_ends_it(
    daemon: Daemon, tmp_path: Path
) -> None:
    port = _closed_port()
    dest = tmp_path / "x"
    job_id = job_id_for(dest)
    argv = [sys.executable, "-m", "uidt", "--home", str(daemon.home), "download"]
    url = f"http://ann:{SECRET}@127.0.0.1:{port}/x"
    following = subprocess.Popen(
        [*argv, url, "-o", str(dest), "--wait"],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert following.stderr is not None
        seen = read_lines_until(following.stderr, "retrying: ", timeout=30)
        expected = (
            f"job {job_id}: retrying: cannot reach 127.0.0.1:{port} (connection refused) "
            f"(uidt keeps trying while the network is up; uidt cancel {job_id} stops it)\n"
        )
        assert seen[-1] == expected, seen
        # said while the first run still tries, not after it gave up a minute later
        assert not any("waiting for its delay" in line for line in seen), seen
        listed = daemon.uidt("jobs", "--app", TRANSFERS_APP, "--json")
        [job] = [j for j in json.loads(listed.stdout) if j["job_id"] == job_id]
        assert job["state"] == "active"
        assert job["notification"]["text"] == expected.split(": ", 1)[1].split(" (uidt")[0]
        dumpsys = json.dumps(daemon.dumpsys())
        assert f"retrying: cannot reach 127.0.0.1:{port}" in dumpsys
        assert SECRET not in listed.stdout + dumpsys
        cancelled = daemon.uidt("cancel", str(job_id))
        assert cancelled.returncode == 0, cancelled.stderr
        _out, err = following.communicate(timeout=30)
    finally:
        reap(following)
    said = "".join(seen) + err
    assert following.returncode == 1, said
    assert "cancelled" in err, said
    assert said.count("retrying: cannot reach") == 1, said  # one line, not one per attempt
    assert SECRET not in said


def test_cancel_also_stops_a_transfer_waiting_for_its_backoff(
    daemon: Daemon, tmp_path: Path
) -> None:
    """The line says `uidt cancel N stops it`; after the run gave up, that stays true."""
    dest = tmp_path / "busy.bin"
    job_id = job_id_for(dest)
    with ThreadedTransferTestServer() as server:
        server.add_file("/busy.bin", b"b" * 1000)
        # Retry-After: 0, so the run's six status retries take no time and it gives up
        server.set_faults("/busy.bin", Faults(status=503, retry_after="0"))
        done = daemon.uidt("download", server.url("/busy.bin"), "-o", str(dest))
        assert done.returncode == 0, done.stderr
        daemon.wait_job(
            job_id, lambda j: j["state"] == "waiting", "waiting for its backoff", app=TRANSFERS_APP
        )
        assert patience_path(dest).exists()
        cancelled = daemon.uidt("cancel", str(job_id))
        assert cancelled.returncode == 0, cancelled.stderr
        daemon.wait_job(job_id, lambda j: j["state"] == "cancelled", "cancelled", app=TRANSFERS_APP)
    wait_for(lambda: not patience_path(dest).exists(), what="the retry count to be removed")
    assert not dest.exists()

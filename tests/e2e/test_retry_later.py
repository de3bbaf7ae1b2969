"""A download (or upload) whose server stays busy waits for the scheduler's backoff, and reads so.

The bad day (issue 20) found downloads ending ``failed`` on trouble that passes (a link drop,
then a 429 burst). Now such a run asks to be rescheduled: the job is ``waiting`` for its delay,
its notification says "retrying: <reason>", and nothing reads ``failed`` or ``finished``.
Real daemon, real worker; the server answers 503 with ``Retry-After: 0`` so the worker's in-run
retries take no time.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.job.reasons import PendingReason
from uidt.testing.httpserver import Faults, ThreadedTransferTestServer
from uidt.transfers.jobs import TRANSFERS_APP, job_id_for
from uidt.transfers.patience import patience_path, upload_patience_path

from .conftest import Daemon, clean_env, read_lines_until, reap

DATA = b"the file the busy server holds\n" * 1000


@pytest.fixture
def server() -> Iterator[ThreadedTransferTestServer]:
    with ThreadedTransferTestServer() as served:
        served.add_file("/busy.bin", DATA)
        served.set_faults("/busy.bin", Faults(status=503, retry_after="0"))
        yield served


def _assert_waiting_to_retry(daemon: Daemon, job_id: int, title: str) -> None:
    """The job waits for its backoff, unfailed, saying why in its notification and never
    reading failed or finished in ``uidt jobs``."""
    latency = int(PendingReason.CONSTRAINT_MINIMUM_LATENCY)
    job = daemon.wait_job(
        job_id,
        lambda j: j["state"] == "waiting" and latency in (j.get("pending_reasons") or []),
        "waiting for its backoff",
        app=TRANSFERS_APP,
    )
    assert job.get("failure") is None
    notes = [
        n
        for n in daemon.dumpsys()["notifications"]
        if n["app"] == TRANSFERS_APP and n["id"] == job_id
    ]
    assert notes
    assert notes[0]["title"] == title
    assert notes[0]["text"].startswith("retrying: ")
    assert "503" in notes[0]["text"]
    table = daemon.uidt("jobs", "--app", TRANSFERS_APP)
    assert "failed" not in table.stdout
    assert "finished" not in table.stdout


def test_a_busy_server_leaves_the_job_waiting_with_the_reason_in_view(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "busy.bin"
    job_id = job_id_for(dest)
    done = daemon.uidt("download", server.url("/busy.bin"), "-o", str(dest))
    assert done.returncode == 0, done.stderr
    _assert_waiting_to_retry(daemon, job_id, "Download busy.bin waiting to retry")
    assert patience_path(dest).exists()
    assert not dest.exists()


def test_wait_says_why_the_job_waits_and_ctrl_c_leaves_it_waiting(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "busy.bin"
    argv = [sys.executable, "-m", "uidt", "--home", str(daemon.home), "download"]
    following = subprocess.Popen(
        [*argv, server.url("/busy.bin"), "-o", str(dest), "--wait"],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert following.stderr is not None
        # the run gave up: the job waits
        seen = read_lines_until(following.stderr, "waiting for its delay", timeout=60)
        following.send_signal(signal.SIGINT)
        _out, err = following.communicate(timeout=30)
    finally:
        reap(following)
    said = "".join(seen) + err
    # While the run retried, at most one line said so (not one per attempt: into a pipe the
    # follower looks once a second, and with Retry-After: 0 the run may give up within it) ...
    retrying = [line for line in seen if "(uidt keeps trying while the network is up" in line]
    assert len(retrying) <= 1, said
    assert all("retrying: the server answered HTTP 503" in line for line in retrying), said
    # ... then the app's own words for the wait, once, above the bar (not a bare "waiting").
    waiting = [line for line in seen if "waiting for its delay" in line]
    assert len(waiting) == 1, said
    assert "retrying: " in waiting[0], said
    assert "503" in waiting[0], said
    assert following.returncode == 130, said
    assert "goes on in the background" in err
    assert "failed" not in said


def test_an_upload_to_a_busy_server_waits_too_and_never_reads_finished(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    source = tmp_path / "report.pdf"
    source.write_bytes(DATA)
    url = server.url("/files/")
    server.set_faults("/files/", Faults(status=503, retry_after="0"))
    job_id = job_id_for(source.absolute(), url)
    done = daemon.uidt("upload", str(source), url)
    assert done.returncode == 0, done.stderr
    _assert_waiting_to_retry(daemon, job_id, "Upload report.pdf waiting to retry")
    assert upload_patience_path(source).exists()
    assert server.server.uploads == {}

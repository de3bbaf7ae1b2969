"""`--wait` and `uidt follow` follow exactly the job they scheduled (real daemon, real workers).

Issue 19: an earlier run for the same destination (stopped, replaced) must not answer for the
new one; the same download run again attaches instead of starting over; two `--wait` for one
destination both succeed; Ctrl-C leaves the transfer running and says how to follow or stop it;
a failed download reads `failed` with its reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.jobs import TRANSFERS_APP, job_id_for

from .conftest import Daemon, clean_env, wait_for

DATA = os.urandom(2 * 1024 * 1024 + 5)
OTHER = os.urandom(1024 * 1024 + 3)


@pytest.fixture
def server() -> Iterator[ThreadedTransferTestServer]:
    with ThreadedTransferTestServer() as served:
        served.add_file("/data.bin", DATA)
        served.add_file("/other.bin", OTHER)
        yield served


def _records(daemon: Daemon, job_id: int) -> list[dict[str, Any]]:
    return [j for j in daemon.jobs() if j["app"] == TRANSFERS_APP and j["job_id"] == job_id]


def _running(daemon: Daemon, job_id: int) -> dict[str, Any]:
    return daemon.wait_job(
        job_id,
        lambda j: j["state"] == "active" and j["notification"] is not None,
        "running",
        app=TRANSFERS_APP,
    )


def _spawn(daemon: Daemon, out: Path, *args: str) -> subprocess.Popen[bytes]:
    """A ``uidt`` command in the background, its stdout in ``out``, stderr in ``out.err``."""
    with out.open("wb") as stdout, out.with_suffix(".err").open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "uidt", "--home", str(daemon.home), *args],
            stdout=stdout,
            stderr=stderr,
            env=clean_env(),
        )


def _finish(process: subprocess.Popen[bytes]) -> int:
    try:
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_wait_after_a_user_stopped_run_follows_the_new_job(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "data.bin"
    job_id = job_id_for(dest)
    server.pause("/data.bin")
    assert daemon.uidt("download", server.url("/data.bin"), "-o", str(dest)).returncode == 0
    _running(daemon, job_id)
    assert daemon.uidt("stop", TRANSFERS_APP).returncode == 0
    daemon.wait_job(job_id, lambda j: j["state"] == "user-stopped", "stopped", app=TRANSFERS_APP)
    server.unpause("/data.bin")
    sha = hashlib.sha256(DATA).hexdigest()
    done = daemon.uidt(
        "download", server.url("/data.bin"), "-o", str(dest), "--sha256", sha, "--wait"
    )
    assert done.returncode == 0, done.stderr
    assert "user-stopped" not in done.stderr
    assert "complete" in done.stdout
    assert dest.read_bytes() == DATA


def test_wait_after_a_replaced_run_follows_the_replacement(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "data.bin"
    job_id = job_id_for(dest)
    server.pause("/data.bin")
    assert daemon.uidt("download", server.url("/data.bin"), "-o", str(dest)).returncode == 0
    _running(daemon, job_id)
    done = daemon.uidt("download", server.url("/other.bin"), "-o", str(dest), "--wait")
    server.unpause("/data.bin")
    assert done.returncode == 0, done.stderr
    assert f"replaced the earlier download job {job_id}" in done.stderr
    assert "/data.bin" in done.stderr
    assert "cancelled" not in done.stderr
    assert dest.read_bytes() == OTHER
    states = [j["state"] for j in _records(daemon, job_id)]
    assert states[-2:] == ["cancelled", "finished"]


def test_the_same_download_again_attaches_instead_of_starting_over(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "data.bin"
    job_id = job_id_for(dest)
    server.pause("/data.bin")
    first = daemon.uidt("--json", "download", server.url("/data.bin"), "-o", str(dest))
    assert first.returncode == 0, first.stderr
    generation = json.loads(first.stdout)["generation"]
    _running(daemon, job_id)
    again = daemon.uidt("--json", "download", server.url("/data.bin"), "-o", str(dest))
    assert again.returncode == 0, again.stderr
    answer = json.loads(again.stdout)
    assert answer["attached"] is True
    assert answer["generation"] == generation
    assert "already downloading" in again.stderr
    [live] = [j for j in _records(daemon, job_id) if j["state"] == "active"]
    assert live["generation"] == generation
    assert not [j for j in _records(daemon, job_id) if j["state"] == "cancelled"]
    assert len([r for r in server.server.requests if r.path == "/data.bin"]) == 1
    server.unpause("/data.bin")
    daemon.wait_job(job_id, lambda j: j["state"] == "finished", "finished", app=TRANSFERS_APP)
    assert dest.read_bytes() == DATA


def test_two_waits_for_one_destination_both_succeed(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "data.bin"
    server.pause("/data.bin")
    outs = [tmp_path / "one.out", tmp_path / "two.out"]
    url = server.url("/data.bin")
    # both start at once; the body is held, so neither can end before both scheduled
    procs = [_spawn(daemon, out, "download", url, "-o", str(dest), "--wait") for out in outs]
    for out in outs:
        wait_for(lambda out=out: out.read_text().strip(), what=f"{out.name} to print the job id")
    server.unpause("/data.bin")
    codes = [_finish(p) for p in procs]
    errors = [out.with_suffix(".err").read_text() for out in outs]
    assert codes == [0, 0], errors
    assert sum("already downloading, following job" in e for e in errors) == 1
    assert dest.read_bytes() == DATA


def test_follow_reattaches_and_ctrl_c_leaves_the_transfer_running(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "data.bin"
    job_id = job_id_for(dest)
    server.pause("/data.bin")
    waiting = _spawn(
        daemon,
        tmp_path / "wait.out",
        "download",
        server.url("/data.bin"),
        "-o",
        str(dest),
        "--wait",
    )
    wait_for(lambda: (tmp_path / "wait.out").read_text().strip(), what="the job id")
    _running(daemon, job_id)
    waiting.send_signal(signal.SIGINT)
    assert _finish(waiting) == 130
    err = (tmp_path / "wait.err").read_text()
    assert "Aborted!" not in err
    assert "goes on in the background" in err
    assert f"uidt follow {job_id}" in err
    assert f"uidt cmd cancel {TRANSFERS_APP} {job_id}" in err
    assert daemon.job(job_id, TRANSFERS_APP)["state"] == "active"  # type: ignore[index]
    follower = _spawn(daemon, tmp_path / "follow.out", "follow", str(job_id))
    wait_for(
        lambda: "following job" in (tmp_path / "follow.err").read_text(), what="follow to attach"
    )
    server.unpause("/data.bin")
    assert _finish(follower) == 0, (tmp_path / "follow.err").read_text()
    assert dest.read_bytes() == DATA
    again = daemon.uidt("follow", str(job_id))  # over: its outcome at once
    assert again.returncode == 0, again.stderr
    unknown = daemon.uidt("follow", "12345")
    assert unknown.returncode == 1
    assert "no job 12345" in unknown.stderr


def test_a_failed_download_reads_failed_with_its_reason_everywhere(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "missing.bin"
    job_id = job_id_for(dest)
    done = daemon.uidt("download", server.url("/missing.bin"), "-o", str(dest), "--wait")
    assert done.returncode == 1
    assert f"job {job_id} failed:" in done.stderr
    assert "404" in done.stderr
    [record] = [j for j in daemon.uidt_json("jobs", "--all", "--json") if j["job_id"] == job_id]
    assert record["state"] == "failed"
    assert "404" in record["failure"]
    table = daemon.uidt("jobs", "--all", "--app", TRANSFERS_APP)
    assert table.returncode == 0
    assert "failed" in table.stdout
    assert "404" in table.stdout
    assert "SUCCESSFUL_FINISH" not in table.stdout
    notes = [
        n
        for n in daemon.dumpsys()["notifications"]
        if n["app"] == TRANSFERS_APP and n["id"] == job_id
    ]
    assert notes  # the final notification stays
    assert notes[0]["title"].endswith("failed")
    assert daemon.uidt("follow", str(job_id)).returncode == 1
    assert not dest.exists()

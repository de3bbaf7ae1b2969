"""The transfer app's Pause / Resume / Cancel against a real daemon and the loopback server:
a pause keeps the part file and reads "paused", a resume finishes byte-exact with nothing
re-sent, a cancel leaves nothing behind, and a click for a finished transfer changes nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.jobs import job_id_for
from uidt.transfers.names import TRANSFERS_APP

from .conftest import Daemon, wait_for

DATA = os.urandom(3 * 1024 * 1024 + 17)


@pytest.fixture
def server() -> Iterator[ThreadedTransferTestServer]:
    with ThreadedTransferTestServer() as served:
        served.add_file("/data.bin", DATA)
        yield served


def _job(daemon: Daemon, job_id: int) -> dict[str, Any] | None:
    return daemon.job(job_id, TRANSFERS_APP)


def _start_and_hold(
    daemon: Daemon, server: ThreadedTransferTestServer, dest: Path
) -> tuple[int, int]:
    """Start a download, let about 1 MiB through, then hold the server's body; wait until the
    job is running with its buttons. Returns the job id and the bytes sent so far."""
    server.throttle("/data.bin", 2 * 1024 * 1024)
    done = daemon.uidt("download", server.url("/data.bin"), "-o", str(dest))
    assert done.returncode == 0, done.stderr
    job_id = job_id_for(dest.absolute())
    server.wait_bytes_sent("/data.bin", 1024 * 1024, timeout=15)
    server.pause("/data.bin")
    daemon.wait_job(
        job_id,
        lambda j: (
            j["state"] == "active"
            and j["notification"] is not None
            and ["pause", "Pause"] in j["notification"]["actions"]
        ),
        "running with a Pause button",
        app=TRANSFERS_APP,
    )
    return job_id, server.bytes_sent("/data.bin")


def test_pause_then_resume_gives_the_exact_file_with_nothing_sent_twice(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "data.bin"
    job_id, held = _start_and_hold(daemon, server, dest)
    # while it runs the shell getters show the app's estimate and progress
    estimate = daemon.shell("get-estimated-download-bytes", TRANSFERS_APP, str(job_id))
    assert int(estimate) == len(DATA)
    moved = wait_for(
        lambda: int(daemon.shell("get-transferred-download-bytes", TRANSFERS_APP, str(job_id))),
        what="progress reported",
    )
    assert 0 < moved <= held
    paused = daemon.uidt("pause", str(job_id))
    assert paused.returncode == 0, paused.stderr
    ended = daemon.wait_job(
        job_id,
        lambda j: j["state"] == "finished",
        "paused (finished, not complete)",
        app=TRANSFERS_APP,
    )
    # a status never lies: it finished for now, and says it is paused, not complete
    assert ended["notification"]["title"].endswith("paused")
    assert ["resume", "Resume"] in ended["notification"]["actions"]
    assert 0 < ended["transferred_download_bytes"] < len(DATA)
    assert ended["estimated_download_bytes"] == len(DATA)
    assert not dest.exists()
    assert (tmp_path / "data.bin.part").exists()
    assert (tmp_path / "data.bin.uidt").exists()
    listed = daemon.uidt_json("jobs", "--all", "--json")
    assert any(
        j["job_id"] == job_id and j["notification"] and "paused" in j["notification"]["title"]
        for j in listed
    )

    sent_before = server.bytes_sent("/data.bin")
    server.unpause("/data.bin")
    server.throttle("/data.bin", None)
    resumed = daemon.uidt("resume", str(job_id))
    assert resumed.returncode == 0, resumed.stderr
    wait_for(lambda: dest.exists(), timeout=30, what="the resumed download to complete")
    assert dest.read_bytes() == DATA
    # the held bytes were never sent before the pause; after it, only the rest was asked for
    assert server.bytes_sent("/data.bin") == len(DATA), (sent_before, len(DATA))
    final = daemon.wait_job(
        job_id, lambda j: j["state"] == "finished", "complete", app=TRANSFERS_APP
    )
    assert final["transferred_download_bytes"] == len(DATA)


def test_cancel_stops_the_transfer_and_leaves_no_partial_file(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "data.bin"
    job_id, _ = _start_and_hold(daemon, server, dest)
    done = daemon.uidt("cancel", str(job_id))
    assert done.returncode == 0, done.stderr
    daemon.wait_job(job_id, lambda j: j["state"] == "cancelled", "cancelled", app=TRANSFERS_APP)
    wait_for(
        lambda: (
            not (tmp_path / "data.bin.part").exists() and not (tmp_path / "data.bin.uidt").exists()
        ),
        what="the part file and checkpoint to go",
    )
    assert not dest.exists()
    server.unpause("/data.bin")
    notes = daemon.uidt_json("notifications", "--json")
    wait_for(
        lambda: (
            not [
                n
                for n in daemon.uidt_json("notifications", "--json")
                if n["app"] == TRANSFERS_APP and n["id"] == job_id
            ]
        ),
        what="the notification to go",
    )
    assert isinstance(notes, list)


def test_a_pause_of_a_transfer_that_just_finished_leaves_it_finished(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "done.bin"
    done = daemon.uidt("download", server.url("/data.bin"), "-o", str(dest), "--wait")
    assert done.returncode == 0, done.stderr
    job_id = job_id_for(dest.absolute())
    refused = daemon.uidt("pause", str(job_id))
    assert refused.returncode == 1
    assert "has no action 'pause'" in refused.stderr
    ended = _job(daemon, job_id)
    assert ended is not None
    assert ended["state"] == "finished"
    assert ended["notification"]["title"].endswith("complete")
    assert dest.read_bytes() == DATA


def test_a_paused_transfer_resumes_after_the_daemon_restarted(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    # the daemon keeps no notification across a restart, so Resume is no longer a button:
    # `uidt resume JOB` schedules the kept job itself, as `uidt download` would
    dest = tmp_path / "later.bin"
    job_id, _ = _start_and_hold(daemon, server, dest)
    assert daemon.uidt("pause", str(job_id)).returncode == 0
    daemon.wait_job(job_id, lambda j: j["state"] == "finished", "paused", app=TRANSFERS_APP)
    daemon.stop()
    daemon.start()
    server.unpause("/data.bin")
    server.throttle("/data.bin", None)
    resumed = daemon.uidt("resume", str(job_id))
    assert resumed.returncode == 0, resumed.stderr
    wait_for(lambda: dest.exists(), timeout=30, what="the resumed download to complete")
    assert dest.read_bytes() == DATA
    assert server.bytes_sent("/data.bin") == len(DATA)
    # resumed once: a second resume has nothing to do
    again = daemon.uidt("resume", str(job_id))
    assert again.returncode == 1
    assert "not paused" in again.stderr


def test_a_paused_transfer_can_be_cancelled_after_the_daemon_restarted(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "dropped.bin"
    job_id, _ = _start_and_hold(daemon, server, dest)
    assert daemon.uidt("pause", str(job_id)).returncode == 0
    daemon.wait_job(job_id, lambda j: j["state"] == "finished", "paused", app=TRANSFERS_APP)
    assert (tmp_path / "dropped.bin.part").exists()
    daemon.stop()
    daemon.start()
    # the paused notification came back with the daemon: its Cancel is a click the transfer
    # app's receiver carries out in its worker, after the command has answered
    done = daemon.uidt("cancel", str(job_id))
    assert done.returncode == 0, done.stderr
    # the part file goes first, then its checkpoint: both are waited for
    wait_for(
        lambda: (
            not (tmp_path / "dropped.bin.part").exists()
            and not (tmp_path / "dropped.bin.uidt").exists()
        ),
        timeout=30,
        what="the cancel to remove the part file and its checkpoint",
    )
    assert not dest.exists()
    wait_for(
        lambda: daemon.uidt("resume", str(job_id)).returncode == 1,  # nothing left to resume
        timeout=30,
        what="the kept job to be forgotten",
    )
    server.unpause("/data.bin")

"""The transfer app's Pause / Resume / Cancel of a tus upload, against a real daemon and the
loopback tus endpoint: a pause keeps the upload's state, a resume completes with the server
holding exactly the source's bytes and nothing sent twice, and a cancel removes the upload's own
state files (never the source, never through a planted link) and terminates it on the server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.jobs import job_id_for
from uidt.transfers.names import TRANSFERS_APP
from uidt.transfers.patience import upload_patience_path
from uidt.transfers.uploadstate import upload_checkpoint_path

from .conftest import Daemon, wait_for

DATA = os.urandom(3 * 1024 * 1024 + 17)
#: The first upload the endpoint creates (each test has a fresh server).
UPLOAD = "/files/1"


@pytest.fixture
def server() -> Iterator[ThreadedTransferTestServer]:
    with ThreadedTransferTestServer() as served:
        yield served


def _start_and_hold(
    daemon: Daemon, server: ThreadedTransferTestServer, source: Path
) -> tuple[int, int]:
    """Start a tus upload of ``source`` (at 2 MiB/s), let about 1 MiB reach the server, then hold
    what it receives; wait until the job runs with its buttons. Returns the job id and the bytes
    the server holds."""
    source.write_bytes(DATA)
    endpoint = server.url("/files/")
    done = daemon.uidt("upload", str(source), endpoint, "--tus", "--limit-rate", str(2 << 20))
    assert done.returncode == 0, done.stderr
    job_id = job_id_for(source.absolute(), endpoint)
    server.wait_bytes_sent(UPLOAD, 1024 * 1024, timeout=15)
    server.pause(UPLOAD)
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
    return job_id, len(server.server.uploads["1"])


def _pause(daemon: Daemon, job_id: int) -> dict[str, object]:
    paused = daemon.uidt("pause", str(job_id))
    assert paused.returncode == 0, paused.stderr
    return daemon.wait_job(job_id, lambda j: j["state"] == "finished", "paused", app=TRANSFERS_APP)


def test_upload_pause_then_resume_sends_each_byte_once(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    source = tmp_path / "photo.raw"
    job_id, _ = _start_and_hold(daemon, server, source)
    ended = _pause(daemon, job_id)
    notification = ended["notification"]
    assert isinstance(notification, dict)
    assert notification["title"].endswith("paused")  # finished for now, and says so
    assert ["resume", "Resume"] in notification["actions"]
    held = len(server.server.uploads["1"])
    assert 0 < held < len(DATA)
    assert upload_checkpoint_path(source).exists()  # what the resume continues from

    server.unpause(UPLOAD)
    resumed = daemon.uidt("resume", str(job_id))
    assert resumed.returncode == 0, resumed.stderr
    final = daemon.wait_job(
        job_id,
        lambda j: j["state"] == "finished" and j["notification"]["title"].endswith("complete"),
        "complete",
        timeout=30,
        app=TRANSFERS_APP,
    )
    assert bytes(server.server.uploads["1"]) == DATA
    assert source.read_bytes() == DATA
    assert not upload_checkpoint_path(source).exists()
    # one upload, continued where the server stood: nothing was sent twice
    requests = server.server.requests
    assert [r.method for r in requests].count("POST") == 1
    assert server.bytes_sent(UPLOAD) == len(DATA)
    patches = [r for r in requests if r.method == "PATCH" and r.status == 204]
    assert patches
    # The resumed PATCH starts where the server stood when it was asked (a 204: the endpoint
    # answers 409 to any other offset). That may be past ``held``: bytes already in flight at
    # the pause (in the server's buffers) land once the server is let go, more of them with
    # sendfile, which hands the kernel a whole step at once.
    assert patches[0].start >= held
    assert final["transferred_upload_bytes"] == len(DATA)


def test_upload_cancel_removes_its_state_and_terminates_it_on_the_server(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    source = tmp_path / "photo.raw"
    job_id, _ = _start_and_hold(daemon, server, source)
    state = upload_checkpoint_path(source)
    retry = upload_patience_path(source)
    retry.write_text('{"idle_runs": 1, "since": 1, "reason": "an earlier run"}')
    assert state.exists()
    done = daemon.uidt("cancel", str(job_id))
    assert done.returncode == 0, done.stderr
    daemon.wait_job(job_id, lambda j: j["state"] == "cancelled", "cancelled", app=TRANSFERS_APP)
    wait_for(
        lambda: not state.exists() and not retry.exists(),
        what="the upload's state and retry count to go",
    )
    assert source.read_bytes() == DATA  # never the source
    wait_for(lambda: server.server.terminated == ["1"], what="the tus upload to be terminated")
    assert "1" not in server.server.uploads
    server.unpause(UPLOAD)


def test_upload_cancel_after_pause_leaves_a_planted_link_and_its_target_alone(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    source = tmp_path / "photo.raw"
    job_id, _ = _start_and_hold(daemon, server, source)
    _pause(daemon, job_id)
    state = upload_checkpoint_path(source)
    retry = upload_patience_path(source)
    retry.write_text('{"idle_runs": 1, "since": 1, "reason": "an earlier run"}')
    # the state replaced by a link to another file of the user
    other = tmp_path / "thesis.txt"
    other.write_text("three years of work\n")
    state.unlink()
    state.symlink_to(other)
    done = daemon.uidt("cancel", str(job_id))
    assert done.returncode == 0, done.stderr
    wait_for(lambda: not retry.exists(), what="the cancel to remove the retry count")
    assert other.read_text() == "three years of work\n"  # the link was never followed
    assert not state.exists() or state.is_symlink()
    assert source.read_bytes() == DATA
    # a state that is not surely the user's names no upload: nothing is terminated on its word
    assert server.server.terminated == []
    server.unpause(UPLOAD)

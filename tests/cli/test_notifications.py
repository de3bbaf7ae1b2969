"""``uidt cancel JOB`` where no notification offers Cancel: the command drops the kept paused
transfer itself, with what it left (an upload's state files, never its source; its tus upload
terminated), as the transfer app's receiver would."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
import pytest

from uidt.cli.context import CliContext
from uidt.cli.notifications import _cancel_kept
from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers import paused
from uidt.transfers.jobs import upload_job
from uidt.transfers.patience import upload_patience_path
from uidt.transfers.uploadstate import UploadCheckpoint, upload_checkpoint_path

DATA = os.urandom(4096)


def test_cancel_of_a_kept_paused_upload_removes_its_state_and_terminates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("UIDT_HOME", str(home))
    source = tmp_path / "photo.raw"
    source.write_bytes(DATA)
    with ThreadedTransferTestServer() as server:
        endpoint = server.url("/files/")
        server.server.uploads["9"] = bytearray(DATA[:100])
        server.server.upload_lengths["9"] = len(DATA)
        st = os.stat(source)
        UploadCheckpoint(upload_checkpoint_path(source), endpoint, st.st_size, st.st_mtime_ns).save(
            server.url("/files/9")
        )
        upload_patience_path(source).write_text(json.dumps({"idle_runs": 1, "since": 1}))
        job = upload_job(source, endpoint, tus=True)
        paused.save(job)
        _cancel_kept(CliContext(home=str(home), json_output=False), job.job_id)
        assert server.server.terminated == ["9"]
    assert not upload_checkpoint_path(source).exists()
    assert not upload_patience_path(source).exists()
    assert source.read_bytes() == DATA
    assert paused.load(job.job_id) is None
    with pytest.raises(click.ClickException, match="neither running nor paused"):
        _cancel_kept(CliContext(home=str(home), json_output=False), job.job_id)

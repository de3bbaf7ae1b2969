"""HttpDownloadService against the loopback server: how a run ends (job_finished / job_failed)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest

from uidt.errors import TransferError
from uidt.job.params import JobParameters
from uidt.testing.httpserver import Faults, TransferTestServer
from uidt.transfers.jobs import download_job
from uidt.transfers.names import CHANNEL
from uidt.transfers.service import HttpDownloadService, speed_rule
from uidt.transfers.speedfloor import LOWEST_SPEED, LOWEST_SPEED_SECONDS


class Recording:
    """A ServiceConnection that records every call; ``ended`` is set by the run's last call."""

    def __init__(self) -> None:
        self.channels = frozenset({CHANNEL})
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.ended = asyncio.Event()

    def call(self, method: str, params: JobParameters, args: dict[str, Any]) -> None:
        self.calls.append((method, args))
        if method == "job_finished":
            self.ended.set()

    def last_notification(self) -> dict[str, Any]:
        notes = [args for method, args in self.calls if method == "set_notification"]
        return dict(notes[-1]["notification"])


async def _run(url: str, dest: Path, **extras: Any) -> Recording:
    connection = Recording()
    service = HttpDownloadService()
    service.attach(connection)
    params = JobParameters(
        job_id=1, extras={"url": url, "dest": str(dest), **extras}, user_initiated=True, run_id=1
    )
    assert await service.on_start_job(params) is True
    await asyncio.wait_for(connection.ended.wait(), 30)
    return connection


def _ends(connection: Recording) -> list[dict[str, Any]]:
    return [args for method, args in connection.calls if method == "job_finished"]


async def test_a_complete_download_finishes_without_a_failure(
    server: TransferTestServer, tmp_path: Path, payload: bytes
) -> None:
    server.add_file("/f.bin", payload)
    connection = await _run(server.url("/f.bin"), tmp_path / "f.bin")
    assert _ends(connection) == [{"wants_reschedule": False}]
    assert connection.last_notification()["title"] == "Download f.bin complete"


async def test_a_404_fails_the_job_with_the_reason(
    server: TransferTestServer, tmp_path: Path
) -> None:
    connection = await _run(server.url("/missing.bin"), tmp_path / "m.bin")
    [end] = _ends(connection)
    assert end["wants_reschedule"] is False
    assert "404" in end["failure"]
    note = connection.last_notification()
    assert note["title"] == "Download m.bin failed"
    assert note["text"] == end["failure"]
    assert note["ongoing"] is False
    assert not (tmp_path / "m.bin").exists()


async def test_a_server_that_lies_about_the_content_fails_the_sha256_check(
    server: TransferTestServer, tmp_path: Path, payload: bytes
) -> None:
    server.add_file("/f.bin", payload)
    wrong = hashlib.sha256(payload + b"x").hexdigest()
    connection = await _run(server.url("/f.bin"), tmp_path / "f.bin", sha256=wrong)
    [end] = _ends(connection)
    assert "SHA-256" in end["failure"] or "sha256" in end["failure"].lower()
    assert not (tmp_path / "f.bin").exists()


async def test_a_refusing_server_fails_the_job(server: TransferTestServer, tmp_path: Path) -> None:
    server.add_file("/f.bin", b"x" * 100)
    server.set_faults("/f.bin", Faults(status=403))
    connection = await _run(server.url("/f.bin"), tmp_path / "f.bin")
    [end] = _ends(connection)
    assert "403" in end["failure"]


def test_the_engine_defaults_apply_unless_given(tmp_path: Path) -> None:
    plain = download_job("http://127.0.0.1/f", tmp_path / "f")
    assert "lowest_speed" not in plain.extras
    assert speed_rule(plain.extras) == (LOWEST_SPEED, LOWEST_SPEED_SECONDS)
    given = download_job(
        "http://127.0.0.1/f", tmp_path / "f", lowest_speed=0, lowest_speed_seconds=5
    )
    assert speed_rule(given.extras) == (0, 5.0)


@pytest.mark.parametrize(
    "extras",
    [
        {"lowest_speed": "fast"},
        {"lowest_speed": True},
        {"lowest_speed": 1.5},
        {"lowest_speed_seconds": "soon"},
        {"lowest_speed_seconds": None},
    ],
)
def test_garbage_in_the_job_is_a_clear_transfer_error(extras: dict[str, Any]) -> None:
    with pytest.raises(TransferError, match="bad lowest-speed rule"):
        speed_rule(extras)

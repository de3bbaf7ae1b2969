"""The global bandwidth_limit through the real daemon and its workers (issue 15 item 7).

Two downloads share a 64 KiB/s limit (one also has ``--limit-rate 16K``); the daemon tells each
worker its share; ``uidt cmd bandwidth-limit off`` lifts it while they run and both end at once,
in the same requests, nothing sent twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.names import TRANSFERS_APP

from .conftest import Daemon, running_daemon, wait_for

K = 1024
SIZE = 4 * 1024 * K  # 64 s at the limit: only lifting it ends the test in time
FILES = {"/a.bin": os.urandom(SIZE), "/b.bin": os.urandom(SIZE)}


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedTransferTestServer]:
    with ThreadedTransferTestServer() as served:
        for path, data in FILES.items():
            served.add_file(path, data)
        yield served


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    home = tmp_path / "home"
    home.mkdir()
    with running_daemon(home, {"bandwidth_limit": "64K"}) as running:
        yield running


def _transfers(daemon: Daemon) -> list[dict[str, Any]]:
    return [j for j in daemon.jobs(include_ended=False) if j["app"] == TRANSFERS_APP]


def test_running_downloads_share_the_limit_and_a_change_applies_while_they_run(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    first = daemon.uidt(
        "download", server.url("/a.bin"), "-o", str(tmp_path / "a.bin"), "--limit-rate", "16K"
    )
    assert first.returncode == 0, first.stderr
    second = daemon.uidt("download", server.url("/b.bin"), "-o", str(tmp_path / "b.bin"))
    assert second.returncode == 0, second.stderr

    def both_share() -> dict[str, Any] | None:
        limit: dict[str, Any] = daemon.api("GET", "/v1/bandwidth-limit")
        return limit if len(limit["shares"]) == 2 else None

    limit = wait_for(both_share, what="both downloads to get a share")
    assert limit["current"] == 64 * K
    assert limit["source"] == "setting"
    # max-min fair: the one limited to 16K on its own leaves 48K to the other
    assert sorted(limit["shares"].values()) == [16 * K, 48 * K]
    wait_for(
        lambda: all(j["transferred_download_bytes"] > 0 for j in _transfers(daemon)) or None,
        what="both downloads to move bytes",
    )
    assert all(j["transferred_download_bytes"] < SIZE // 2 for j in _transfers(daemon))

    shown = daemon.cmd("bandwidth-limit")
    assert shown.returncode == 0, shown.stderr
    assert "64K; shared by 2 transfers" in shown.stdout

    lifted = daemon.cmd("bandwidth-limit", "off")
    assert lifted.returncode == 0, lifted.stderr
    assert "off; set while running (setting: 64K)" in lifted.stdout
    # the other one now runs unlimited and ends at once; a's own --limit-rate still holds
    dest = tmp_path / "b.bin"
    wait_for(lambda: dest.exists() or None, 30, "the unlimited download to end")
    assert dest.read_bytes() == FILES["/b.bin"]
    assert server.bytes_sent("/b.bin") == SIZE  # one request, nothing sent twice
    assert not (tmp_path / "a.bin").exists()
    job_a = int(first.stdout.split()[0])
    daemon.api("DELETE", f"/v1/apps/{TRANSFERS_APP}/jobs/{job_a}")
    wait_for(lambda: not _transfers(daemon) or None, what="the limited download to be cancelled")
    # its connection is reset: the server does not hold it until its own timeout
    wait_for(
        lambda: server.server.open_connections() == 0 or None,
        what="the server to see the cancelled download's connection end",
    )


def test_a_bad_limit_is_refused_with_one_clear_line_and_changes_nothing(daemon: Daemon) -> None:
    bad = daemon.cmd("bandwidth-limit", "08:00,2M 19:00,fast")
    assert bad.returncode != 0
    assert "line 1, entry 2 ('19:00,fast')" in bad.stderr
    assert "'fast' is not a rate" in bad.stderr
    assert daemon.api("GET", "/v1/bandwidth-limit")["current"] == 64 * K
    changed = daemon.api("PUT", "/v1/bandwidth-limit", {"limit": "Mon-08:00,512K Sat-00:00,off"})
    assert changed["timetable"] is True
    assert changed["source"] == "changed"
    back = daemon.api("PUT", "/v1/bandwidth-limit", {"limit": None})
    assert back["schedule"] == "64K"
    assert back["source"] == "setting"


def test_limit_rate_takes_curls_forms_and_refuses_others(daemon: Daemon, tmp_path: Path) -> None:
    bad = daemon.uidt("download", "http://127.0.0.1:9/x", "--limit-rate", "2X")
    assert bad.returncode == 2
    assert "--limit-rate" in bad.stderr
    assert "'2X' is not a rate" in bad.stderr
    up = daemon.uidt("upload", str(Path(__file__)), "http://127.0.0.1:9/x", "--limit-rate", "-1")
    assert up.returncode == 2
    assert "'-1' is not a rate" in up.stderr


def test_a_limited_upload_through_the_daemon_keeps_to_its_limit(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    source = tmp_path / "up.bin"
    data = os.urandom(96 * K)
    source.write_bytes(data)
    daemon.cmd("bandwidth-limit", "off")  # its own limit only
    started = time.monotonic()
    done = daemon.uidt(
        "upload", str(source), server.url("/files/"), "--tus", "--limit-rate", "128K", "--wait"
    )
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert bytes(next(iter(server.server.uploads.values()))) == data
    # a lower bound only (the pauses alone): 96 KiB at 128 KiB/s, less one burst
    assert seconds >= (len(data) - 128 * K // 10) / (128 * K) * 0.95

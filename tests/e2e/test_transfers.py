"""The built-in transfer app through the real daemon: `uidt download` / `uidt upload --wait`."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.testing.httpserver import ThreadedTransferTestServer

from .conftest import Daemon

DATA = os.urandom(3 * 1024 * 1024 + 17)


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedTransferTestServer]:
    with ThreadedTransferTestServer() as served:
        served.add_file("/data.bin", DATA)
        yield served


def test_download_wait_succeeds_with_a_verified_file(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "data.bin"
    sha = hashlib.sha256(DATA).hexdigest()
    done = daemon.uidt(
        "download", server.url("/data.bin"), "-o", str(dest), "--sha256", sha, "--wait"
    )
    assert done.returncode == 0, done.stderr
    assert dest.read_bytes() == DATA
    assert "complete" in done.stdout + done.stderr
    assert not (tmp_path / "data.bin.part").exists()
    assert not (tmp_path / "data.bin.uidt").exists()


def test_download_of_a_missing_file_fails_clearly_and_leaves_nothing(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "missing.bin"
    done = daemon.uidt("download", server.url("/missing.bin"), "-o", str(dest), "--wait")
    assert done.returncode == 1
    assert "404" in done.stderr
    assert not dest.exists()


def test_a_wrong_sha256_fails_and_leaves_no_file(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "bad.bin"
    done = daemon.uidt(
        "download", server.url("/data.bin"), "-o", str(dest), "--sha256", "0" * 64, "--wait"
    )
    assert done.returncode == 1
    assert "SHA-256" in done.stderr or "sha256" in done.stderr.lower()
    assert not dest.exists()


def test_bad_download_arguments_are_refused_before_scheduling(
    daemon: Daemon, tmp_path: Path
) -> None:
    assert daemon.uidt("download", "ftp://example.org/x", "-o", str(tmp_path / "x")).returncode == 1
    bad_sha = daemon.uidt("download", "http://127.0.0.1:9/x", "--sha256", "nothex")
    assert bad_sha.returncode == 1
    assert "64 hexadecimal digits" in bad_sha.stderr
    nowhere = daemon.uidt("download", "http://127.0.0.1:9/x", "-o", str(tmp_path / "no" / "x"))
    assert nowhere.returncode == 1
    assert "does not exist" in nowhere.stderr
    for option, value in [("--lowest-speed", "-1"), ("--lowest-speed-seconds", "0")]:
        refused = daemon.uidt("download", "http://127.0.0.1:9/x", option, value)
        assert refused.returncode != 0
        assert option in refused.stderr


def test_upload_wait_with_tus(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    source = tmp_path / "up.bin"
    source.write_bytes(DATA)
    done = daemon.uidt("upload", str(source), server.url("/files/"), "--wait")
    assert done.returncode == 0, done.stderr
    assert bytes(next(iter(server.server.uploads.values()))) == DATA

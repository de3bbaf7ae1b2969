"""The built-in transfer app through the real daemon: `uidt download` / `uidt upload --wait`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.testing.httpserver import ThreadedTransferTestServer

from .conftest import Daemon, clean_env

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


def test_foreground_download_into_a_pipe_prints_plain_lines(
    server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    dest = tmp_path / "fg.bin"
    command = ["download", server.url("/data.bin"), "-o", str(dest), "--foreground"]
    done = subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(tmp_path / "home"), *command],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert dest.read_bytes() == DATA
    assert "\x1b" not in done.stderr
    assert "\r" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[-1].startswith("Download fg.bin complete [100.0%]"), lines
    assert len(lines) <= 4, lines  # the banner, "starting", maybe one progress line, "complete"


def test_download_into_a_directory_uses_the_url_file_name(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("not yours")
    (folder / "data.bin").symlink_to(victim)  # planted where the download will land
    done = daemon.uidt("download", server.url("/data.bin"), "-o", str(folder), "--wait")
    assert done.returncode == 0, done.stderr
    assert not (folder / "data.bin").is_symlink()
    assert (folder / "data.bin").read_bytes() == DATA
    assert victim.read_text() == "not yours"
    # --wait into a pipe: plain lines, no terminal escapes, the last frame at 100 %.
    assert "\x1b" not in done.stderr
    bars = [line for line in done.stderr.splitlines() if line.startswith("job ")]
    assert not bars or " 100% " in bars[-1]
    missing = daemon.uidt("download", server.url("/data.bin"), "-o", str(tmp_path / "nope") + "/")
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr
    assert not (tmp_path / "nope").exists()


def test_upload_to_a_server_without_tus_says_it_fell_back_or_fails_with_tus(
    daemon: Daemon, server: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    source = tmp_path / "plain.bin"
    source.write_bytes(DATA[:1000])
    required = daemon.uidt("upload", str(source), server.url("/put/required"), "--tus", "--wait")
    assert required.returncode == 1
    assert "does not speak tus" in required.stderr
    assert "without --tus" in required.stderr
    assert "/put/required" not in server.server.put_bodies
    plain = daemon.uidt("upload", str(source), server.url("/put/plain"), "--wait")
    assert plain.returncode == 0, plain.stderr
    assert "with a plain PUT: fell back, the server does not speak tus" in plain.stdout
    assert server.server.put_bodies["/put/plain"] == DATA[:1000]

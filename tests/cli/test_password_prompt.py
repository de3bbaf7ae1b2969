"""``--user USER`` without a password asks for it on the terminal, without echo."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from uidt.testing.httpserver import Faults, ThreadedTransferTestServer
from uidt.transfers.credentials import basic_authorization

DATA = b"behind a password\n" * 1000
PASSWORD = "typed-pa55-word"


def _read_until(fd: int, wanted: bytes, deadline: float) -> bytes:
    seen = b""
    while wanted not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {wanted!r} on the terminal; saw {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the program closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_the_password_is_asked_for_without_echo(tmp_path: Path) -> None:
    setsid = shutil.which("setsid")
    if setsid is None:
        pytest.skip("setsid (util-linux) is not installed: no terminal of its own for uidt")
    program = "import sys; from uidt.cli.main import main; sys.argv[0] = 'uidt'; main()"
    dest = tmp_path / "f.bin"
    with ThreadedTransferTestServer() as server:
        server.add_file("/f.bin", DATA)
        server.set_faults(
            "/f.bin", Faults(require_authorization=basic_authorization("ann", PASSWORD))
        )
        master, slave = pty.openpty()
        args = [setsid, "--ctty", "--wait", sys.executable, "-c", program]
        args += ["--home", str(tmp_path / "home"), "download", server.url("/f.bin")]
        args += ["-o", str(dest), "--user", "ann", "--foreground"]
        process = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, start_new_session=True
        )
        os.close(slave)
        try:
            deadline = time.monotonic() + 60
            shown = _read_until(master, b"Password for ann:", deadline)
            os.write(master, PASSWORD.encode() + b"\n")
            shown += _read_until(master, b"\x00never", deadline)
            assert process.wait(timeout=60) == 0, shown
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            os.close(master)
    assert dest.read_bytes() == DATA
    assert PASSWORD.encode() not in shown  # not echoed

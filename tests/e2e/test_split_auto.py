"""``uidt download`` (``--split auto``, the default) through the daemon: the worker is killed after
the switch to ranges, and the download resumes each range from its checkpoint, byte-exact.

A real daemon, a real app worker, uidt's loopback test server limiting each connection
(``throttle``: every request's body at 1 MiB/s), so the governor's first trial is due after the
probe (the rest of the file would take seconds at the measured rate).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import psutil
import pytest

from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.segments import SEGMENTS_KIND, load_segments

from .conftest import Daemon, wait_for

MiB = 1024 * 1024
DATA = os.urandom(12 * MiB + 7)


def _switched(checkpoint: Path) -> bool:
    """A segmented checkpoint whose second range holds bytes (the trial's connection ran)."""
    with contextlib.suppress(OSError, ValueError):
        saved = Checkpoint(checkpoint).load()
        if saved and saved.get("kind") == SEGMENTS_KIND and len(saved["segments"]) >= 2:
            start, done, _end = saved["segments"][1]
            return bool(done > start)
    return False


@pytest.mark.slow  # about 6 s: a probe at 1 MiB/s, a switch, a kill and a second daemon
def test_a_worker_killed_after_the_switch_resumes_every_range_byte_exact(tmp_path: Path) -> None:
    home, dest = tmp_path / "home", tmp_path / "big.bin"
    home.mkdir()
    checkpoint = Path(f"{dest}.uidt")
    with ThreadedTransferTestServer() as server:
        server.add_file("/big.bin", DATA)
        server.throttle("/big.bin", 1 * MiB)
        before = Daemon(home).start()
        try:
            scheduled = before.uidt(
                "download", server.url("/big.bin"), "-o", str(dest), "--min-split-size", "1M"
            )
            assert scheduled.returncode == 0, scheduled.stderr
            wait_for(lambda: _switched(checkpoint), timeout=30, what="the switch to ranges")
        finally:
            victims = [psutil.Process(before.pid), *before.worker_processes()]
            for process in victims:  # the worker and its daemon, as a crash leaves them
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.send_signal(signal.SIGKILL)
            psutil.wait_procs(victims, timeout=10)
            assert before.process is not None
            before.process.wait(timeout=10)
        saved = Checkpoint(checkpoint).load()
        assert saved is not None
        segments = load_segments(saved, len(DATA))
        assert segments is not None
        held = sum(s.present for s in segments)
        sent_before = server.bytes_sent("/big.bin")
        known = len(server.server.requests)
        server.throttle("/big.bin", None)
        after = Daemon(home).start()
        try:
            wait_for(dest.exists, timeout=60, what="the download to complete")
            assert dest.read_bytes() == DATA
            starts = sorted(
                int((r.range or "bytes=0-").removeprefix("bytes=").split("-")[0])
                for r in server.server.requests[known:]
                if r.path == "/big.bin" and r.method == "GET"
            )
            assert starts == [s.done for s in segments if not s.complete]  # each from its end
            assert server.bytes_sent("/big.bin") - sent_before == len(DATA) - held
            # sent before the kill but named by no checkpoint: at most the last half second
            # of each connection and what the kernel buffered for it
            assert sent_before - held <= len(segments) * (MiB // 2 + 2 * MiB)
        finally:
            after.stop()

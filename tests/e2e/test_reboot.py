"""After a reboot, persisted jobs run again with no command typed; the others are gone.

The reboot is simulated: every uidt process (the daemon and each app worker) is killed with
SIGKILL, as a power cut would leave them, then only the daemon is started, the way
``uidt.service`` starts it at login (:func:`.activation.start_as_service`). Nobody runs a
``uidt`` command afterwards: the test only watches files, the HTTP server and the app's log
(and reads the job list at the very end).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import psutil
import pytest

from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.names import TRANSFERS_APP

from .activation import start_as_service, write_fast_config
from .conftest import SAMPLE_DIR, Daemon, read_log, uij, wait_for

MiB = 1024 * 1024
KEPT = os.urandom(6 * MiB + 3)
DROPPED = os.urandom(2 * MiB + 5)


def _power_cut(daemon: Daemon) -> None:
    """SIGKILL the daemon and all its workers at once (nothing gets to clean up)."""
    victims = [psutil.Process(daemon.pid), *daemon.worker_processes()]
    for process in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGKILL)
    psutil.wait_procs(victims, timeout=10)
    assert daemon.process is not None
    daemon.process.wait(timeout=10)


def _resumed_from(server: ThreadedTransferTestServer, path: str) -> list[int]:
    """The offsets of the ``Range: bytes=N-`` requests for ``path`` (N > 0: a resume)."""
    offsets = []
    for record in server.server.requests:
        if record.path == path and record.method == "GET" and record.range:
            offsets.append(int(record.range.removeprefix("bytes=").split("-")[0]))
    return [n for n in offsets if n > 0]


@pytest.mark.slow  # about 9 s: two downloads, one throttled, and two daemon starts
def test_after_a_reboot_persisted_jobs_run_again_and_the_others_are_gone(tmp_path: Path) -> None:
    home, log = tmp_path / "home", tmp_path / "app.log"
    write_fast_config(home)
    kept, dropped = tmp_path / "kept.bin", tmp_path / "dropped.bin"
    with ThreadedTransferTestServer() as server:
        server.add_file("/kept.bin", KEPT)
        server.add_file("/dropped.bin", DROPPED)
        server.throttle("/kept.bin", 1 * MiB)
        server.throttle("/dropped.bin", 256 * 1024)
        before = Daemon(home).start()
        try:
            before.install(SAMPLE_DIR)
            scheduler = before.scheduler()
            with scheduler.activity():
                assert scheduler.schedule(uij(601, "run", log, persisted=True)) == 1
                assert scheduler.schedule(uij(602, "run", log)) == 1
            for url, dest, extra in [
                (server.url("/kept.bin"), kept, ()),
                (server.url("/dropped.bin"), dropped, ("--no-persist",)),
            ]:
                scheduled = before.uidt("download", url, "-o", str(dest), *extra)
                assert scheduled.returncode == 0, scheduled.stderr
            before.wait_running(601)
            before.wait_running(602)
            # A checkpoint well into the file: recorded at least every half second.
            wait_for(
                lambda: Path(f"{kept}.uidt").exists() and server.bytes_sent("/kept.bin") > 2 * MiB,
                what="the persisted download to get going",
            )
            wait_for(lambda: server.bytes_sent("/dropped.bin") > 0, what="the other download")
        finally:
            _power_cut(before)
        assert not kept.exists()  # not under its final name: it is not complete
        part_size = Path(f"{kept}.part").stat().st_size
        assert part_size > 0
        server.throttle("/kept.bin", None)

        after = start_as_service(home)  # the login: no `uidt` command from here on
        try:
            wait_for(kept.exists, timeout=60, what="the persisted download to complete")
            assert kept.read_bytes() == KEPT
            resumed = _resumed_from(server, "/kept.bin")
            assert resumed, "the download started again from zero"
            assert 0 < resumed[-1] <= part_size + 1 * MiB  # from its checkpoint, not from zero
            wait_for(lambda: read_log(log).count("start 601 run") == 2, what="job 601 to run again")
            assert read_log(log).count("start 602 run") == 1  # not persisted: gone
            assert not dropped.exists()
            assert not _resumed_from(server, "/dropped.bin")
            jobs = after.jobs(include_ended=False)
            assert {(j["app"], j["job_id"]) for j in jobs if j["app"] != TRANSFERS_APP} == {
                ("org.example.sample", 601)
            }
            assert not [j for j in jobs if j["app"] == TRANSFERS_APP]  # the kept one finished
        finally:
            after.stop()

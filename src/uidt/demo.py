"""``make demo``: the main job, end to end, on the embedded default store.

1. serves a generated file of a few hundred MiB from a loopback HTTP server (Range, ETag);
2. starts a daemon in a temporary home with the fake device source (unmetered Wi-Fi);
3. ``uidt download URL --network unmetered --sha256 …``: a persisted user-initiated job;
4. the network turns metered mid-transfer: the job stops with CONSTRAINT_CONNECTIVITY (7);
   it turns unmetered again: the job resumes from its checkpoint;
5. the daemon is killed with SIGKILL and started again: the persisted job resumes once more;
6. the SHA-256 is verified, and a report compares bytes sent by the server with the file size.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from uidt.app.connection import DaemonConnection
from uidt.home.paths import Paths, resolve_paths
from uidt.job.reasons import StopReason
from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.transfers.jobs import TRANSFERS_APP

MiB = 1024 * 1024
SIZE_MIB = int(os.environ.get("UIDT_DEMO_MIB", "256"))
#: Throttle so the transfer takes long enough to be interrupted twice (about 15 s).
SECONDS = float(os.environ.get("UIDT_DEMO_SECONDS", "15"))
PATH = "/big.bin"
START = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - START:6.1f}s] {text}", flush=True)


def uidt(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "uidt", "--home", str(home), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def make_file(path: Path, size: int) -> str:
    """Write ``size`` pseudo-random bytes (seeded: the same every run) and return their SHA-256."""
    rng = random.Random(20231004)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            block = rng.randbytes(min(8 * MiB, left))
            digest.update(block)
            out.write(block)
            left -= len(block)
    return digest.hexdigest()


class Daemon:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = paths.data_dir / "demo-daemon.log"

    def start(self) -> None:
        self.paths.ensure()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "uidt", "--home", str(self.paths.data_dir)),
                    *("daemon", "--foreground", "--device", "fake"),
                ],
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
            )
        conn = DaemonConnection(self.paths, autostart=False)
        wait_until(lambda: _answers(conn), 20, "the daemon to answer")
        say(f"daemon up (pid {self.proc.pid})")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        say(f"daemon killed with SIGKILL (pid {self.proc.pid})")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _answers(conn: DaemonConnection) -> bool:
    try:
        conn.request("GET", "/v1/ping")
    except OSError:
        return False
    return True


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)  # noqa: TID251 - the demo watches real processes
    raise SystemExit(f"demo: timed out waiting for {what}")


def job_state(conn: DaemonConnection, job_id: int) -> dict[str, Any] | None:
    jobs = conn.request("GET", "/v1/jobs", query={"app": TRANSFERS_APP, "all": True})["jobs"]
    for job in jobs:
        if job["job_id"] == job_id:
            return dict(job)
    return None


def done_fraction(conn: DaemonConnection, job_id: int, size: int) -> float:
    job = job_state(conn, job_id)
    if job is None or job["state"] != "active":
        return 0.0
    return float(job["transferred_download_bytes"]) / size


def main() -> None:
    size = SIZE_MIB * MiB
    home = Path(tempfile.mkdtemp(prefix="uidt-demo-"))
    paths = resolve_paths(home)
    server_dir = home / "srv"
    server_dir.mkdir(parents=True)
    out_dir = home / "downloads"
    out_dir.mkdir()
    dest = out_dir / "big.bin"
    say(f"generating a {SIZE_MIB} MiB file to serve on 127.0.0.1")
    sha = make_file(server_dir / "big.bin", size)
    daemon = Daemon(paths)
    stops: list[str] = []
    try:
        with ThreadedTransferTestServer() as server:
            server.add_path(PATH, server_dir / "big.bin")
            server.throttle(PATH, int(size / SECONDS))
            url = server.url(PATH)
            daemon.start()
            conn = DaemonConnection(paths, autostart=False)
            result = uidt(
                home, "--json", "download", url, "-o", str(dest),
                "--network", "unmetered", "--sha256", sha,
            )  # fmt: skip
            if result.returncode != 0:
                raise SystemExit(f"demo: uidt download failed:\n{result.stderr}")
            job_id = int(json.loads(result.stdout)["job_id"])
            say(f"uidt download scheduled user-initiated job {job_id} (needs an unmetered network)")

            wait_until(lambda: done_fraction(conn, job_id, size) >= 0.25, 120, "25 %")
            say("25 % done: the network becomes metered (cmd device set metered=true)")
            uidt(home, "cmd", "device", "set", "metered=true")
            job = wait_until(
                lambda: (j := job_state(conn, job_id)) and j["state"] != "active" and j,
                30,
                "the stop",
            )
            reason = StopReason(job["stop_reason"])
            stops.append(f"{reason.name} ({int(reason)}) when the network turned metered")
            say(f"job stopped: {reason.name} ({int(reason)}); waiting for an unmetered network")
            time.sleep(1.0)  # noqa: TID251 - let the user see the stopped state
            say("the network is unmetered again (cmd device set metered=false)")
            uidt(home, "cmd", "device", "set", "metered=false")
            wait_until(lambda: done_fraction(conn, job_id, size) > 0, 30, "the resume")
            say(f"job resumed at {done_fraction(conn, job_id, size) * 100:.0f} %")

            wait_until(lambda: done_fraction(conn, job_id, size) >= 0.6, 120, "60 %")
            daemon.kill9()
            stops.append("daemon killed with SIGKILL (no on_stop_job)")
            daemon.start()
            say("the persisted job was reloaded; waiting for it to finish")
            wait_until(lambda: dest.exists(), 180, "the download to finish")
            sent = server.bytes_sent(PATH)
        digest = hashlib.sha256(dest.read_bytes()).hexdigest()
        ok = digest == sha
        say(f"download complete: {dest}")
        print()
        print("== report ==")
        print(f"file size            {size:>14,} bytes")
        print(
            f"bytes sent by server {sent:>14,} bytes ({(sent - size) / size * 100:+.2f} % re-sent)"
        )
        print(f"sha-256              {'verified' if ok else 'MISMATCH'} ({digest[:16]}…)")
        print("stops                " + "\n                     ".join(stops))
        print(f"time taken           {time.monotonic() - START:.1f} s")
        if not ok:
            raise SystemExit(1)
    finally:
        daemon.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

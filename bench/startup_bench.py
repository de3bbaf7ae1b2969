"""Cold start: how long ``uidt download URL -o DEST --wait`` takes when no daemon runs yet.

Every row is the median wall time of :data:`RUNS` runs, each a fresh process (and, for the cold
rows, a fresh ``--home``), on a 1 kB file served from 127.0.0.1 by a ``http.server`` thread of
this process:

- *CLI import*: ``python -c "import uidt.cli.main"``.
- *daemon time-to-socket*: from spawning ``uidt --home FRESH daemon --foreground`` (and, on its
  own row, ``python -m uidt.daemon --home FRESH``, what the CLI's autostart runs) until
  ``GET /v1/ping`` on its socket answers.
- *cold download --wait*: ``uidt --home FRESH download URL -o DEST --wait`` with no daemon:
  the CLI autostarts the daemon, which starts the transfers worker, which fetches the file.
- *warm download --wait*: the same command again while that daemon (and its worker) runs.

Run with ``python -m bench startup_bench``.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

RUNS = int(os.environ.get("UIDT_BENCH_RUNS", "5"))
BODY = os.urandom(1024)
#: How long one step may take before the benchmark gives up.
TIMEOUT_S = 30.0


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _file_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/file.bin"
    finally:
        server.shutdown()
        server.server_close()


def _uidt(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "uidt", "--home", str(home), *args]


def _ping(sock_path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(sock_path))
            sock.sendall(b"GET /v1/ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False


def _stop_daemon(home: Path) -> None:
    pid_file = home / "daemon.pid"
    lock = home / "daemon.lock"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)  # noqa: TID251 - waiting for another process to exit
    raise RuntimeError(f"the daemon for {home} (pid {pid}, lock {lock}) did not stop")


def _timed(argv: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=TIMEOUT_S)
    return time.perf_counter() - began


def cli_import() -> float:
    """Seconds for a fresh interpreter to import the CLI."""
    return _timed([sys.executable, "-c", "import uidt.cli.main"])


def daemon_time_to_socket(root: Path, *, light: bool = False) -> float:
    """Seconds from spawning a foreground daemon for a fresh home until it answers a ping.

    ``light``: start it as ``python -m uidt.daemon`` (the autostart's command) instead of
    ``uidt daemon --foreground``.
    """
    home = Path(tempfile.mkdtemp(dir=root))
    if light:
        argv = [sys.executable, "-m", "uidt.daemon", "--home", str(home)]
    else:
        argv = _uidt(home, "daemon", "--foreground")
    began = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sock_path = home / "uidt.sock"
        while not _ping(sock_path):
            if proc.poll() is not None:
                raise RuntimeError(f"the daemon exited with status {proc.returncode}")
            if time.perf_counter() - began > TIMEOUT_S:
                raise RuntimeError("the daemon did not answer in time")
            time.sleep(0.001)  # noqa: TID251 - polling a socket another process is opening
        return time.perf_counter() - began
    finally:
        proc.terminate()
        proc.wait(TIMEOUT_S)


def download_wait(root: Path, url: str) -> tuple[float, float]:
    """Seconds of a cold and then a warm ``download --wait`` for one fresh home."""
    home = Path(tempfile.mkdtemp(dir=root))
    try:
        cold = _timed(_uidt(home, "download", url, "-o", str(home / "cold.bin"), "--wait"))
        warm = _timed(_uidt(home, "download", url, "-o", str(home / "warm.bin"), "--wait"))
        for name in ("cold.bin", "warm.bin"):
            if (home / name).read_bytes() != BODY:
                raise RuntimeError(f"{name} does not hold the served bytes")
        return cold, warm
    finally:
        _stop_daemon(home)


def measure(runs: int = RUNS) -> dict[str, float | None]:
    """Median seconds of each row (``None``: could not be measured)."""
    rows: dict[str, list[float]] = {
        "CLI import": [],
        "daemon time-to-socket (uidt daemon --foreground)": [],
        "daemon time-to-socket (python -m uidt.daemon)": [],
        "cold download --wait (1 kB)": [],
        "warm download --wait (1 kB)": [],
    }
    with tempfile.TemporaryDirectory(prefix="uidt-startup-") as tmp, _file_server() as url:
        root = Path(tmp)
        for _ in range(runs):
            rows["CLI import"].append(cli_import())
            rows["daemon time-to-socket (uidt daemon --foreground)"].append(
                daemon_time_to_socket(root)
            )
            with contextlib.suppress(RuntimeError):  # a uidt without the light entry point
                rows["daemon time-to-socket (python -m uidt.daemon)"].append(
                    daemon_time_to_socket(root, light=True)
                )
            cold, warm = download_wait(root, url)
            rows["cold download --wait (1 kB)"].append(cold)
            rows["warm download --wait (1 kB)"].append(warm)
    return {name: statistics.median(values) if values else None for name, values in rows.items()}


def main() -> None:
    """Print the cold-start table (medians of :data:`RUNS` runs)."""
    print(f"| step | median of {RUNS} (s) |")
    print("|---|---|")
    for name, seconds in measure().items():
        print(f"| {name} | {'n/a' if seconds is None else f'{seconds:.3f}'} |", flush=True)


if __name__ == "__main__":
    main()

"""Slowloris against a daemon under the common 1,024 open-file limit (the figures of docs/reliability.md).

Starts a daemon as an autostart does (stdout and stderr into ``logs/daemon-start.log``) with
``RLIMIT_NOFILE`` 1,024 and its Task Manager on loopback, opens ``UIDT_BENCH_SLOWLORIS``
(default 1,500) half-open request heads on the control socket and as many on the Task Manager
port, then checks whether the owner is still served (a ping with a 5 s timeout, ``uidt download
--wait`` of 1 MiB within 60 s), counts the daemon's file descriptors, and after
``UIDT_BENCH_HOLD_S`` (default 45) seconds how many attack connections the daemon still holds
and how much it logged.

``UIDT_BENCH_SRC=DIR`` runs the daemon and CLI of another source tree (``DIR`` on
``PYTHONPATH``), e.g. an unpacked older commit (``git archive COMMIT src | tar -x -C DIR``), for
a before/after comparison.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

NOFILE = 1024
COUNT = int(os.environ.get("UIDT_BENCH_SLOWLORIS", "1500"))
HOLD_S = float(os.environ.get("UIDT_BENCH_HOLD_S", "45"))
SRC = os.environ.get("UIDT_BENCH_SRC")
DATA = os.urandom(1 << 20)
HEAD = b"GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Wait: "


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UIDT_")}
    if SRC:
        env["PYTHONPATH"] = os.path.join(SRC, "src")
    return env


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(DATA)))
        self.end_headers()
        self.wfile.write(DATA)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _file_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/data.bin"
    finally:
        server.shutdown()
        server.server_close()


def _request(sock_path: Path, raw: bytes, timeout: float = 5.0) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(sock_path))
            sock.sendall(raw)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)
        except OSError:
            return b""


def _ping(sock_path: Path) -> bool:
    answer = _request(sock_path, b"GET /v1/ping HTTP/1.1\r\nConnection: close\r\n\r\n")
    return answer.startswith(b"HTTP/1.1 200")


def _web_port(sock_path: Path) -> int:
    answer = _request(sock_path, b"POST /v1/web/url HTTP/1.1\r\nConnection: close\r\n\r\n")
    url = answer.partition(b"\r\n\r\n")[2].decode()
    return int(url.split("127.0.0.1:", 1)[1].split("/", 1)[0])


def _limit_nofile() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


def _still_open(socks: list[socket.socket]) -> int:
    held = 0
    for sock in socks:
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            while sock.recv(65536):  # an answer (408) may come before the end
                pass
            continue  # the end of the stream: closed by the daemon
        held += _blocked(sock)
    return held


def _blocked(sock: socket.socket) -> bool:
    """Whether ``sock`` is still open (reading would wait) rather than reset."""
    try:
        sock.recv(1)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def _log_bytes(log_dir: Path) -> int:
    return sum(p.stat().st_size for p in log_dir.iterdir() if p.is_file())


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * COUNT + 1024), hard))
    home = Path(tempfile.mkdtemp(prefix="uidt-abuse-bench-"))
    log_dir = home / "logs"
    sock_path = home / "uidt.sock"
    # `uidt daemon` without --foreground: the tree's own autostart (spawn, daemon-start.log).
    cli = [sys.executable, "-m", "uidt", "--home", str(home)]
    started = subprocess.run(
        [*cli, "daemon", "--device", "fake", "--web", "127.0.0.1:0"],
        capture_output=True,
        env=_env(),
        preexec_fn=_limit_nofile,  # inherited by the daemon it starts
        timeout=60,
        check=True,
    )
    del started
    pid = int((home / "daemon.pid").read_text())
    attack: list[socket.socket] = []
    try:
        if not _ping(sock_path):
            raise RuntimeError(f"the daemon does not answer; see {log_dir}")
        port = _web_port(sock_path)
        began = time.monotonic()
        for target in ("control", "web"):
            for _ in range(COUNT):
                family = socket.AF_UNIX if target == "control" else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.settimeout(5)
                attack.append(sock)
                try:
                    sock.connect(str(sock_path) if target == "control" else ("127.0.0.1", port))
                    sock.sendall(HEAD)
                except OSError:
                    pass
        opened = time.monotonic() - began
        started = time.monotonic()
        pinged = _ping(sock_path)
        ping_s = time.monotonic() - started
        with _file_server() as url:
            dest = home / "data.bin"
            cli = [sys.executable, "-m", "uidt", "--home", str(home), "download", url]
            sha = hashlib.sha256(DATA).hexdigest()
            started = time.monotonic()
            try:
                done = subprocess.run(
                    [*cli, "-o", str(dest), "--sha256", sha, "--wait"],
                    capture_output=True,
                    env=_env(),
                    timeout=60,
                    check=False,
                )
                downloaded = done.returncode == 0 and dest.read_bytes() == DATA
            except subprocess.TimeoutExpired:
                downloaded = False
            download_s = time.monotonic() - started
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        log_at_attack = _log_bytes(log_dir)
        time.sleep(max(0.0, HOLD_S - (time.monotonic() - began)))  # noqa: TID251 - the hold
        held = _still_open(attack)
        log_after = _log_bytes(log_dir)
        print(f"attack: {COUNT} half-open heads on each surface, opened in {opened:.1f} s")
        print(f"owner's ping: {'answered' if pinged else 'NOT answered'} in {ping_s:.2f} s")
        print(f"owner's download: {'done' if downloaded else 'FAILED'} in {download_s:.1f} s")
        print(f"daemon fds right after the attack: {fds} (limit {NOFILE})")
        print(f"attack connections still held after {HOLD_S:g} s: {held} of {len(attack)}")
        print(f"logs: {log_at_attack} bytes after the attack, {log_after} after the hold")
    finally:
        for sock in attack:
            sock.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.05)  # noqa: TID251 - waiting for another process to exit
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        print(f"(home kept for inspection: {home})")


if __name__ == "__main__":
    main()

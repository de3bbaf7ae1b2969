"""A real daemon under abuse: malformed requests, hostile manifests, and slowloris on both surfaces.

The web-port attack and the planted manifest come from a real second local user (``useradd``,
removed afterwards) where that is permitted; the control socket (0600) is attacked by the owner's
own processes, the only ones that can reach it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from uidt.home.paths import resolve_paths
from uidt.testing.httpserver import ThreadedTransferTestServer
from uidt.testing.malformed import MALFORMED
from uidt.testing.users import LocalUser, can_add_users, second_user

from .conftest import Daemon, clean_env, running_daemon, stop_autostarted_daemon

#: The common default open-file limit the slowloris daemon runs under.
NOFILE = 1024
#: Half-open connections each slowloris holds (more than NOFILE).
SLOWLORIS = 1500
DATA = os.urandom(256 * 1024)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A daemon whose header timeout is short, so that the 408 cases answer quickly."""
    settings = {"http_header_timeout_ms": "1000", "http_idle_timeout_ms": "1000"}
    with running_daemon(tmp_path_factory.mktemp("home"), settings) as d:
        yield d


@pytest.fixture(scope="module")
def other() -> Iterator[LocalUser]:
    reason = can_add_users()
    if reason is not None:
        pytest.skip(reason)
    with second_user() as user:
        yield user


def _raw(daemon: Daemon, data: bytes, *, half_close: bool = False) -> bytes:
    """Send ``data`` on the control socket; everything the daemon answers until it closes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(resolve_paths(daemon.home).socket))
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_every_malformed_request_gets_a_4xx_from_the_real_daemon(daemon: Daemon) -> None:
    held = 0
    cases = [case for case in MALFORMED if case[2] != 413]  # those need a 100-byte body limit
    for name, raw, status, half_close in cases:
        answer = _raw(daemon, raw, half_close=half_close)  # returns: the daemon closed it
        assert answer.startswith(b"HTTP/1.1 %d " % status), (name, answer[:200])
        held += 1
    assert held == len(cases)
    assert daemon.api("GET", "/v1/ping")["ok"] is True
    assert "Traceback" not in (daemon.home / "logs" / "daemon.log").read_text()


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json_is_a_400_not_a_500(daemon: Daemon, depth: int) -> None:
    body = b'{"job": ' + b"[" * depth + b"]" * depth + b"}"
    head = b"POST /v1/apps/org.example.x/jobs HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body)
    answer = _raw(daemon, head + body + b"GET /v1/ping HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"nests deeper than 32 levels" in answer
    assert answer.count(b"HTTP/1.1 200 OK") == 1  # and the connection still served the ping


def _install(daemon: Daemon, path: str, *, trust: bool = False) -> tuple[int, str]:
    args = ["apps", "install", path] + (["--trust"] if trust else [])
    done = daemon.uidt(*args)
    return done.returncode, done.stderr


def test_a_manifest_from_a_fifo_is_refused_at_once_and_the_daemon_keeps_serving(
    daemon: Daemon, tmp_path: Path
) -> None:
    fifo = tmp_path / "uidt.toml"
    os.mkfifo(fifo)
    code, err = _install(daemon, str(fifo))
    assert code != 0
    assert "not a regular file (a FIFO)" in err
    assert daemon.api("GET", "/v1/ping")["ok"] is True


def test_a_manifest_from_dev_zero_is_refused_without_reading_it(daemon: Daemon) -> None:
    before = psutil.Process(daemon.pid).memory_info().rss
    with pytest.raises(Exception, match="not a regular file") as refused:
        daemon.api("POST", "/v1/apps", {"manifest_path": "/dev/zero"})
    assert type(refused.value).__name__ == "ManifestError"
    assert psutil.Process(daemon.pid).memory_info().rss < before + (64 << 20)


def _plant_app(other: LocalUser, base: Path) -> Path:
    """As the other user: an app folder anyone can write (mode 0777), with a manifest in it."""
    script = (
        "import os, sys\n"
        "d = sys.argv[1]\n"
        "os.mkdir(d); os.chmod(d, 0o777)\n"
        "open(os.path.join(d, 'planted.py'), 'w').write('class Service: pass\\n')\n"
        "open(os.path.join(d, 'uidt.toml'), 'w').write("
        '\'package = "org.example.planted"\\n[[services]]\\nname = "planted:Service"\\n\')\n'
    )
    folder = base / "planted"
    subprocess.run(
        ["/usr/bin/env", "python3", "-c", script, str(folder)],
        user=other.uid,
        group=other.gid,
        extra_groups=[],
        check=True,
        timeout=30,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    return folder


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder both users reach and may write (sticky, like /tmp; pytest's own is private)."""
    path = Path(tempfile.mkdtemp(prefix=f"uidt-abuse-{os.getpid()}-", dir="/tmp"))
    os.chmod(path, 0o1777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_a_manifest_another_user_planted_is_refused_unless_trusted(
    daemon: Daemon, other: LocalUser, shared_dir: Path
) -> None:
    folder = _plant_app(other, shared_dir)
    code, err = _install(daemon, str(folder))
    assert code != 0
    assert f"{folder}/uidt.toml is owned by user {other.name}" in err
    assert "--trust" in err
    assert "org.example.planted" not in {
        a["package"] for a in daemon.api("GET", "/v1/apps")["apps"]
    }
    code, err = _install(daemon, str(folder), trust=True)
    assert code == 0, err
    daemon.api("DELETE", "/v1/apps/org.example.planted")


# -- slowloris ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files() -> Iterator[ThreadedTransferTestServer]:
    with ThreadedTransferTestServer() as served:
        served.add_file("/data.bin", DATA)
        yield served


@contextlib.contextmanager
def _nofile(limit: int) -> Iterator[None]:
    """This process's open-file limit lowered (the daemon started meanwhile inherits it)."""
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, saved[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, saved)


@pytest.fixture(scope="module")
def small_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A daemon under the common 1,024 open-file limit, with its Task Manager on loopback."""
    d = Daemon(tmp_path_factory.mktemp("small"), extra_args=("--web", "127.0.0.1:0"))
    try:
        with _nofile(NOFILE):
            d.start()
        yield d
    finally:
        d.stop()


def _download_works(daemon: Daemon, files: ThreadedTransferTestServer, dest: Path) -> bool:
    sha = hashlib.sha256(DATA).hexdigest()
    done = daemon.uidt(
        "download", files.url("/data.bin"), "-o", str(dest), "--sha256", sha, "--wait"
    )
    return done.returncode == 0 and dest.read_bytes() == DATA


def _log_bytes(daemon: Daemon) -> int:
    logs = daemon.home / "logs"
    return sum(p.stat().st_size for p in logs.iterdir()) + len(daemon.output())


def test_a_slowloris_on_the_control_socket_leaves_the_owner_served(
    small_daemon: Daemon, files: ThreadedTransferTestServer, tmp_path: Path
) -> None:
    held: list[socket.socket] = []
    try:
        for _ in range(SLOWLORIS):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            held.append(sock)
            sock.connect(str(resolve_paths(small_daemon.home).socket))
            sock.sendall(b"GET /v1/ping HTTP/1.1\r\nX-Wait: ")  # and never more
        assert small_daemon.api("GET", "/v1/ping")["ok"] is True
        assert _download_works(small_daemon, files, tmp_path / "data.bin")
        assert psutil.Process(small_daemon.pid).num_fds() < NOFILE // 2
    finally:
        for sock in held:
            sock.close()
    assert _log_bytes(small_daemon) < 1 << 20


ATTACKER = """
import socket, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
held = []
for _ in range(count):
    s = socket.create_connection((host, port))
    s.sendall(b"GET /api/state HTTP/1.1\\r\\nHost: x\\r\\nX-Wait: ")
    held.append(s)
print(len(held), flush=True)
sys.stdin.read()  # hold them until told
closed = 0
for s in held:
    s.setblocking(False)
    try:
        closed += s.recv(1) == b""
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print(closed, flush=True)
"""


def test_a_slowloris_from_another_user_on_the_web_port_leaves_the_owner_served(
    small_daemon: Daemon, files: ThreadedTransferTestServer, other: LocalUser, tmp_path: Path
) -> None:
    login = small_daemon.api("POST", "/v1/web/url")["url"]
    host, port = login.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    attacker = subprocess.Popen(
        [python, "-c", ATTACKER, host, port, str(SLOWLORIS)],
        user=other.uid,
        group=other.gid,
        extra_groups=[],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    try:
        assert attacker.stdout is not None
        assert int(attacker.stdout.readline()) == SLOWLORIS  # all connected (most then closed)
        assert small_daemon.api("GET", "/v1/ping")["ok"] is True
        assert _download_works(small_daemon, files, tmp_path / "data.bin")
        fresh = small_daemon.api("POST", "/v1/web/url")["url"]
        assert requests.get(fresh, timeout=30, allow_redirects=False).status_code == 303
        assert psutil.Process(small_daemon.pid).num_fds() < NOFILE // 2
        out, _ = attacker.communicate("", timeout=60)
        closed = int(out.strip())
    finally:
        if attacker.poll() is None:
            attacker.kill()
            attacker.wait(10)
    assert closed >= SLOWLORIS - 128  # all but the capped few were closed by the daemon
    assert _log_bytes(small_daemon) < 1 << 20
    text = (small_daemon.home / "logs" / "daemon.log").read_text()
    assert "out of system resource" not in text
    assert small_daemon.api("GET", "/v1/ping")["ok"] is True


def test_half_open_heads_are_closed_after_the_header_timeout(daemon: Daemon) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with sock:
        sock.settimeout(10)
        sock.connect(str(resolve_paths(daemon.home).socket))
        sock.sendall(b"GET /v1/ping HTTP/1.1\r\n")
        answer = sock.recv(65536)  # within the 10 s socket timeout: the header timeout is 1 s
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert sock.recv(65536) == b""


def test_an_autostarted_daemon_logs_to_its_rotating_log_and_not_to_daemon_start_log(
    tmp_path: Path,
) -> None:
    home = tmp_path / "auto"
    done = subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(home), "daemon", "--device", "fake"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        check=False,
    )
    try:
        assert done.returncode == 0, done.stderr
        logs = resolve_paths(home).log_dir
        assert "serving" in (logs / "daemon.log").read_text()
    finally:
        stop_autostarted_daemon(home)
    assert "serving" not in (logs / "daemon-start.log").read_text()

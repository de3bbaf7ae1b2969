"""``uidt download --wait`` keeps following its job when the daemon is killed and comes back.

Found by the bad-day benchmark (bench/badday): a ``kill -9`` of the daemon made ``--wait``
exit 1 ("lost the connection to the uidt daemon") although the persisted job went on and
finished under the next daemon, so the command said the transfer failed when it had not.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.home.paths import resolve_paths
from uidt.testing.httpserver import ThreadedTransferTestServer

from .conftest import (
    Daemon,
    clean_env,
    reap,
    running_daemon,
    running_transfers,
    stop_autostarted_daemon,
    wait_for,
)

DATA = os.urandom(512 * 1024 + 3)


@pytest.fixture
def server() -> Iterator[ThreadedTransferTestServer]:
    with ThreadedTransferTestServer() as served:
        served.add_file("/held.bin", DATA)
        served.pause("/held.bin")  # the job runs, and cannot end before the test lets it
        yield served


def follow(home: Path, url: str, dest: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "uidt", "--home", str(home), "download", url]
    return subprocess.Popen(
        [*argv, "-o", str(dest), "--wait"],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_wait_follows_the_job_to_its_end_across_a_daemon_kill(
    tmp_path: Path, server: ThreadedTransferTestServer
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    dest = tmp_path / "held.bin"
    with running_daemon(home) as daemon:
        waiting = follow(home, server.url("/held.bin"), dest)
        try:
            wait_for(lambda: running_transfers(daemon), what="the transfer to run")
            # The follower is held while the daemon is killed and started again (what a service
            # manager does), so that the restart is back before the follower's grace begins,
            # however slow a loaded machine makes the restart: its long poll still breaks, and
            # it must find the new daemon. Without the hold, a restart later than the grace
            # raced the daemon the follower then starts for the home's lock.
            os.kill(waiting.pid, signal.SIGSTOP)
            try:
                daemon.kill9()
                daemon.start()
            finally:
                os.kill(waiting.pid, signal.SIGCONT)
            server.unpause("/held.bin")
            out, err = waiting.communicate(timeout=60)
        finally:
            reap(waiting)
            stop_autostarted_daemon(home)
        assert waiting.returncode == 0, out + err
        assert dest.read_bytes() == DATA
        assert "lost the connection" not in err
        assert "started the daemon" not in err  # it went on with the restarted one


def test_wait_starts_a_daemon_itself_when_none_comes_back(
    tmp_path: Path, server: ThreadedTransferTestServer
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    dest = tmp_path / "held.bin"
    with running_daemon(home) as daemon:
        waiting = follow(home, server.url("/held.bin"), dest)
        try:
            wait_for(lambda: running_transfers(daemon), what="the transfer to run")
            daemon.kill9()
            server.unpause("/held.bin")
            out, err = waiting.communicate(timeout=60)
        finally:
            reap(waiting)
            stop_autostarted_daemon(home)
    assert waiting.returncode == 0, out + err
    assert dest.read_bytes() == DATA


def test_wait_does_not_start_again_a_daemon_that_was_stopped_on_purpose(
    tmp_path: Path, server: ThreadedTransferTestServer
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    dest = tmp_path / "held.bin"
    with running_daemon(home) as daemon:
        waiting = follow(home, server.url("/held.bin"), dest)
        try:
            wait_for(lambda: running_transfers(daemon), what="the transfer to run")
            daemon.stop()  # SIGTERM: `uidt daemon stop`
            _out, err = waiting.communicate(timeout=60)
        finally:
            reap(waiting)
            stop_autostarted_daemon(home)
    assert waiting.returncode == 1
    assert "was stopped" in err
    assert "goes on when a daemon starts" in err
    assert not dest.exists()
    assert not (home / "daemon.pid").exists()  # no daemon started behind the user's back


class AnswerLosingProxy:
    """Stands at the daemon's socket path and passes each request to the daemon (moved aside)
    and its answer back, until the schedule request of a transfer: the daemon takes that one,
    answers it (the job is persisted then), and is killed before the answer reaches the client.

    That is the race a ``kill -9`` of the daemon (a crash, an OOM kill) can always win: the job
    exists, the command that scheduled it never heard so.
    """

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        path = resolve_paths(daemon.home).socket
        self.real = path.with_name(path.name + ".real")
        path.rename(self.real)  # the daemon keeps listening on the moved socket
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(16)
        self.lost: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed: the daemon was killed
            with client:
                request = _read_request(client)
                if not request:
                    continue
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as upstream:
                    upstream.connect(str(self.real))
                    upstream.sendall(request)
                    answer = _read_to_end(upstream)
                if request.startswith(b"POST /v1/apps/uidt.transfers/jobs "):
                    self.lost.append(answer)
                    self.daemon.kill9()
                    self.listener.close()
                    return  # the client's connection closes without the answer
                client.sendall(answer)


def _read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""  # a client that only looked whether someone listens
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _read_to_end(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):  # the client asked for Connection: close
        chunks.append(chunk)
    return b"".join(chunks)


def test_wait_survives_a_daemon_killed_before_its_schedule_answer_arrived(
    tmp_path: Path,
) -> None:
    """Found under load: the test above killed the daemon as soon as the job ran, which can be
    before the schedule request's answer reached the command; ``--wait`` then exited 1 ("lost
    the connection ... state=SEND_RESPONSE") before following anything, while the persisted job
    went on under the next daemon. Scheduling with ``attach`` is safe to repeat: the command asks
    the next daemon again, which attaches to the job the lost answer was about.
    """
    home = tmp_path / "home"
    home.mkdir()
    dest = tmp_path / "quick.bin"
    with ThreadedTransferTestServer() as served, running_daemon(home) as daemon:
        served.add_file("/quick.bin", DATA)
        proxy = AnswerLosingProxy(daemon)
        waiting = follow(home, served.url("/quick.bin"), dest)
        try:
            out, err = waiting.communicate(timeout=60)
        finally:
            reap(waiting)
            stop_autostarted_daemon(home)
    assert len(proxy.lost) == 1
    assert b'"result": 1' in proxy.lost[0] or b'"result":1' in proxy.lost[0]  # it was scheduled
    assert waiting.returncode == 0, out + err
    assert dest.read_bytes() == DATA
    assert "lost the connection" not in err

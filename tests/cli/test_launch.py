"""``uidt.cli.launch``: the daemon a transfer command needs is started before the CLI loads."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from uidt.app import spawn
from uidt.app.connection import DaemonConnection
from uidt.cli import launch
from uidt.errors import DaemonError
from uidt.home.paths import Paths, resolve_paths
from uidt.transfers.names import TRANSFERS_APP

URL = "http://127.0.0.1:9/f"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["download", URL], (True, None)),
        (["--home", "/h", "download", URL, "--wait"], (True, "/h")),
        (["--json", "--home=/h", "download", "-o", "x", URL], (True, "/h")),
        (["download", "ftp://host/f"], (False, None)),  # the CLI refuses it: no daemon for it
        (["download", URL, "--foreground"], (False, None)),  # runs in this process
        (["download", "--help"], (False, None)),
        (["--version", "download", URL], (False, None)),  # an option the fast path does not know
        (["jobs"], (False, None)),
        ([], (False, None)),
        (["upload", "/no/such/file", URL], (False, None)),
    ],
)
def test_which_arguments_start_a_daemon_early(
    argv: list[str], expected: tuple[bool, str | None]
) -> None:
    assert launch.transfer_home(argv) == expected


def test_an_upload_of_an_existing_file_does(tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    assert launch.transfer_home(["upload", str(source), URL]) == (True, None)


def _record_spawns(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Paths, tuple[str, ...]]]:
    calls: list[tuple[Paths, tuple[str, ...]]] = []

    def fake_spawn(paths: Paths, daemon_args: tuple[str, ...] = ()) -> object:
        calls.append((paths, daemon_args))
        return object()

    monkeypatch.setattr(spawn, "spawn_daemon", fake_spawn)
    return calls


def test_a_home_without_a_socket_gets_a_daemon_with_the_transfers_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _record_spawns(monkeypatch)
    launch.start_daemon_early(["--home", str(tmp_path), "download", URL])
    assert calls == [(resolve_paths(tmp_path), ("--prestart", TRANSFERS_APP))]


def test_a_home_with_a_socket_is_left_to_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _record_spawns(monkeypatch)
    resolve_paths(tmp_path).socket.touch()  # a daemon runs, or left a stale socket
    launch.start_daemon_early(["--home", str(tmp_path), "download", URL])
    assert calls == []


def test_a_listening_socket_is_knocked_on_at_once_so_a_socket_unit_starts_its_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _record_spawns(monkeypatch)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:  # systemd's, say
        listener.bind(str(resolve_paths(tmp_path).socket))
        listener.listen(4)
        listener.settimeout(0)  # the knock must already be queued when the call returns
        launch.start_daemon_early(["--home", str(tmp_path), "download", URL])
        knock, _ = listener.accept()
        with knock:
            assert knock.recv(16) == b""  # a connection and nothing else: no request to answer
    assert calls == []


def test_the_connection_waits_for_the_early_daemon_instead_of_starting_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = resolve_paths(tmp_path)
    early = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    early.wait()
    spawn._started[str(paths.socket)] = early  # as spawn_daemon leaves it
    monkeypatch.setattr(spawn, "spawn_daemon", lambda *a: pytest.fail("a second daemon"))
    with pytest.raises(DaemonError, match="exited with status 3 while starting"):
        DaemonConnection(paths).request("GET", "/v1/ping")
    assert spawn.take_started(paths) is None  # handed over once


# -- a command the CLI will refuse starts no daemon ------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        ["-H", "no colon here"],  # not 'Name: value'
        ["--header=Content-Length: 5"],  # a field the transfer sets itself
        ["--header-env", "X-Token=UIDT_TEST_SURELY_UNSET_VARIABLE"],
        ["--cacert", "/no/such/ca.pem"],
        ["--cacert", "ca.pem", "--insecure"],
        ["--sha256", "abc"],
        ["--network", "satellite"],
        ["--lowest-speed", "-1"],
        ["--user", ":secret"],
        ["--netrc", "--netrc-optional"],
        ["--no-such-option"],  # unknown to the fast path: left to the CLI
        ["-o"],  # a value missing
    ],
)
def test_arguments_the_cli_refuses_start_no_daemon_early(extra: list[str]) -> None:
    assert launch.transfer_home(["download", URL, *extra]) == (False, None)


def test_a_bad_ca_file_is_refused_before_any_daemon(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    assert launch.transfer_home(["download", URL, "--cacert", str(bad)]) == (False, None)


def test_a_bad_ssl_cert_file_in_the_environment_is_refused_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/no/such/ca.pem")
    assert launch.transfer_home(["download", URL]) == (False, None)


def test_an_upload_with_a_bad_method_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    assert launch.transfer_home(["upload", str(source), URL, "--method", "GET"]) == (False, None)


@pytest.mark.parametrize(
    "extra",
    [
        ["-H", "X-Trace: 1", "--header=Accept: */*", "-A", "me/1"],
        ["--network", "unmetered", "--wait", "--requires-charging", "--no-persist"],
        ["--sha256", "a" * 64, "--lowest-speed", "0", "--lowest-speed-seconds=2.5"],
        ["--user", "me:pw", "--location-trusted", "-k"],
    ],
)
def test_valid_request_options_keep_the_early_start(extra: list[str]) -> None:
    assert launch.transfer_home(["download", URL, *extra]) == (True, None)


def test_a_refused_download_leaves_no_daemon_in_a_fresh_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(home), "download", URL, "-H", "bad header"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "Name: value" in result.stderr
    paths = resolve_paths(home)
    assert not paths.pid_file.exists()
    assert not paths.socket.exists()
    leaked = _daemons_of(home)
    for pid in leaked:  # never leave one behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert leaked == []


def _daemons_of(home: Path) -> list[int]:
    """The pids of daemon processes started for ``home`` (read from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            words = raw.decode(errors="replace").split("\0")
            if "uidt.daemon" in words and str(home) in words:
                pids.append(int(entry.name))
    return pids


def test_the_knock_comes_before_the_command_line_loads_anything_heavy(tmp_path: Path) -> None:
    """A socket-activated daemon starts at the knock: nothing the knock does not need (the
    spawning code, ``dataclasses``, ``logging``, ``typing``) may be loaded before it."""
    heavy = ("dataclasses", "logging", "typing", "subprocess", "uidt.app.spawn", "uidt.home.paths")
    probe = (
        "import sys\n"
        "from uidt.cli import launch\n"
        f"launch.start_daemon_early(['--home', {str(tmp_path)!r}, 'download', {URL!r}, "
        f"'-o', {str(tmp_path / 'f')!r}, '--wait'])\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(resolve_paths(tmp_path).socket))
        listener.listen(4)
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
        )
        listener.settimeout(0)
        knock, _ = listener.accept()  # it did knock
        knock.close()
    assert done.stdout.strip() == ""


# -- the way out --------------------------------------------------------------------------


def _uidt_with_teardown_probe(*args: str) -> subprocess.CompletedProcess[str]:
    """``uidt ARGS`` through the real entry point, with an exit handler that says it ran."""
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('interpreter torn down\\n'))\n"
        f"sys.argv = ['uidt', *{list(args)!r}]\n"
        "from uidt.cli.launch import main\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_command_line_leaves_without_tearing_the_interpreter_down() -> None:
    """Tearing down every module the command loaded (click, rich...) took 20-40 ms after the
    work was done: the command ends its process at once, its output flushed, its status kept."""
    done = _uidt_with_teardown_probe("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("uidt")  # a pipe: block-buffered, so this was flushed
    assert "torn down" not in done.stderr


def test_the_exit_status_and_the_error_message_survive_the_quick_exit(tmp_path: Path) -> None:
    done = _uidt_with_teardown_probe("--home", str(tmp_path), "jobs", "--no-such-option")
    assert done.returncode == 2  # click's usage error
    assert "No such option" in done.stderr
    assert "torn down" not in done.stderr

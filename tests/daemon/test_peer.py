from __future__ import annotations

import os
import socket
from pathlib import Path

from uidt.daemon.peer import is_foreground, parse_stat, peer_credentials, pid_alive


def _stat(pgrp: int, tty: int, tpgid: int, comm: str = "python3") -> str:
    return f"1234 ({comm}) S 1 {pgrp} {pgrp} {tty} {tpgid} 4194560 " + "0 " * 40


def test_parse_stat_handles_spaces_and_parentheses_in_the_name() -> None:
    assert parse_stat(_stat(10, 34816, 10, comm="a (b) c")) == (10, 34816, 10)


def test_foreground_process_group_of_a_terminal_is_visible(tmp_path: Path) -> None:
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "stat").write_text(_stat(42, 34816, 42))
    assert is_foreground(42, proc=tmp_path)


def test_background_group_or_no_terminal_is_not_visible(tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "stat").write_text(_stat(42, 34816, 77))
    (tmp_path / "2").mkdir()
    (tmp_path / "2" / "stat").write_text(_stat(42, 0, -1))
    assert not is_foreground(1, proc=tmp_path)
    assert not is_foreground(2, proc=tmp_path)
    assert not is_foreground(3, proc=tmp_path)


def test_peer_credentials_of_a_socket_pair() -> None:
    a, b = socket.socketpair(socket.AF_UNIX)
    with a, b:
        creds = peer_credentials(a)
    assert creds is not None
    assert creds.pid == os.getpid()
    assert creds.uid == os.getuid()


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(2**22 + 12345)

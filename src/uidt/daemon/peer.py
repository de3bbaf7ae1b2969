"""Who is on the other end of the control socket, and is that process visible to the user?

A process is *visible* (Android's ``PROCESS_STATE_TOP``) when it is in the foreground process
group of its controlling terminal: ``/proc/PID/stat`` field ``tpgid`` equals its ``pgrp`` and it
has a terminal. GUI apps declare visibility with ``JobScheduler.activity()`` instead.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from pathlib import Path

_UCRED = struct.Struct("3i")


@dataclass(frozen=True, slots=True)
class PeerCredentials:
    pid: int
    uid: int
    gid: int


def peer_credentials(sock: socket.socket) -> PeerCredentials | None:
    """``SO_PEERCRED`` of a connected Unix socket, or ``None`` where unsupported."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None or sock.family != socket.AF_UNIX:
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, option, _UCRED.size)
    except OSError:
        return None
    pid, uid, gid = _UCRED.unpack(raw)
    return PeerCredentials(pid, uid, gid)


def parse_stat(text: str) -> tuple[int, int, int]:
    """``(pgrp, tty_nr, tpgid)`` from the text of ``/proc/PID/stat``."""
    # The command name (field 2) is in parentheses and may contain spaces or ')'.
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): pgrp is field 5, tty_nr field 7, tpgid field 8.
    return int(rest[2]), int(rest[4]), int(rest[5])


def is_foreground(pid: int, proc: Path = Path("/proc")) -> bool:
    """Whether ``pid`` is in the foreground process group of its controlling terminal."""
    try:
        pgrp, tty_nr, tpgid = parse_stat((proc / str(pid) / "stat").read_text())
    except (OSError, ValueError, IndexError):
        return False
    return tty_nr != 0 and tpgid > 0 and pgrp == tpgid


def pid_alive(pid: int, proc: Path = Path("/proc")) -> bool:
    return (proc / str(pid)).exists()

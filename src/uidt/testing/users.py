"""A throw-away second local user for attack tests (``useradd``; removed afterwards)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count

_serial = count()


@dataclass(frozen=True)
class LocalUser:
    name: str
    uid: int
    gid: int


def can_add_users() -> str | None:
    """``None`` if :func:`second_user` can work here, else why not (one line, for a skip)."""
    if os.geteuid() != 0:
        return "needs root to add a second local user (useradd)"
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        return "useradd/userdel are not installed"
    return None


@contextlib.contextmanager
def second_user() -> Iterator[LocalUser]:
    """A new local user named uniquely for this process (no home, no login), deleted at the end.

    Raises:
        RuntimeError: ``useradd`` failed (see :func:`can_add_users` to skip first).
    """
    name = f"uidtt{os.getpid()}x{next(_serial)}"
    done = subprocess.run(
        ["useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"useradd {name} failed: {done.stderr.strip()}")
    try:
        entry = pwd.getpwnam(name)
        yield LocalUser(name, entry.pw_uid, entry.pw_gid)
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)

"""The daemon's folders and store are private: open ones are tightened, shared ones refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from uidt.errors import DaemonError
from uidt.home.paths import make_private, resolve_paths
from uidt.store.sqlite import SqliteJobStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_open_home_is_tightened(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o755)
    resolve_paths(home, env={}).ensure()
    assert _mode(home) == 0o700
    assert _mode(home / "logs") == 0o700


def test_a_shared_sticky_folder_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    with pytest.raises(DaemonError, match="shared folder"):
        make_private(shared)
    assert _mode(shared) == 0o1777


def test_another_users_folder_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    if os.geteuid() != 0:
        pytest.skip("needs root to give a folder to another uid")
    os.chown(theirs, 65534, 65534)
    with pytest.raises(DaemonError, match="belongs to uid 65534"):
        make_private(theirs)


def test_the_store_is_created_and_kept_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        store = SqliteJobStore(tmp_path / "uidt.db")
        store.close()
    finally:
        os.umask(old)
    assert _mode(tmp_path / "uidt.db") == 0o600
    (tmp_path / "uidt.db").chmod(0o644)
    SqliteJobStore(tmp_path / "uidt.db").close()
    assert _mode(tmp_path / "uidt.db") == 0o600

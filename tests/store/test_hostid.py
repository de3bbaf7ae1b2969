"""The default host id of a shared store: host name, machine id, user."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path

import pytest

from uidt.store.hostid import default_host_id, machine_id


def test_host_name_machine_id_and_user(tmp_path: Path) -> None:
    file = tmp_path / "machine-id"
    file.write_text("3f2a9c1d5e6f47a8b9c0d1e2f3a4b5c6\n")
    assert default_host_id((file,)) == f"{socket.gethostname()}-3f2a9c1d-{getpass.getuser()}"


def test_two_users_of_one_machine_get_two_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "machine-id"
    file.write_text("3f2a9c1d5e6f47a8b9c0d1e2f3a4b5c6\n")
    ids = set()
    for user in ("alice", "bob"):
        monkeypatch.setattr(getpass, "getuser", lambda user=user: user)
        ids.add(default_host_id((file,)))
    assert len(ids) == 2


def test_an_unreadable_or_empty_machine_id_is_left_out(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert machine_id((tmp_path / "missing", empty)) == ""
    assert default_host_id((tmp_path / "missing",)) == (
        f"{socket.gethostname()}-{getpass.getuser()}"
    )

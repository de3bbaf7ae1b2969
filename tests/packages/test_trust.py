"""Installing refuses code that another local user could change (unless trusted).

The other user is a real one (``useradd``, removed afterwards) where that is permitted.
"""

from __future__ import annotations

import grp
import os
import pwd
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.errors import ManifestError
from uidt.packages.manifest import load_for_install
from uidt.testing.users import LocalUser, can_add_users, second_user

MANIFEST = 'package = "org.example.trusty"\n[[services]]\nname = "trusty:Service"\n'


@pytest.fixture(scope="module")
def other() -> Iterator[LocalUser]:
    reason = can_add_users()
    if reason is not None:
        pytest.skip(reason)
    with second_user() as user:
        yield user


def _app(folder: Path, text: str = MANIFEST) -> Path:
    folder.mkdir(mode=0o755, exist_ok=True)
    os.chmod(folder, 0o755)
    (folder / "trusty.py").write_text("class Service: pass\n")
    path = folder / "uidt.toml"
    path.write_text(text)
    os.chmod(path, 0o644)
    return path


def _refused(path: Path) -> str:
    with pytest.raises(ManifestError) as refused:
        load_for_install(path)
    assert load_for_install(path, trust=True).package == "org.example.trusty"  # --trust
    return str(refused.value)


def test_a_private_folder_installs(tmp_path: Path) -> None:
    assert load_for_install(_app(tmp_path / "app")).root == str(tmp_path / "app")


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o757])
def test_a_folder_anyone_can_write_is_refused_even_if_sticky(tmp_path: Path, mode: int) -> None:
    path = _app(tmp_path / "app")
    os.chmod(path.parent, mode)
    message = _refused(path)
    assert f"{path.parent} is writable by every user" in message
    assert "--trust" in message


def test_a_manifest_anyone_can_write_is_refused(tmp_path: Path) -> None:
    path = _app(tmp_path / "app")
    os.chmod(path, 0o666)
    assert f"{path} is writable by every user" in _refused(path)


def test_a_folder_above_must_be_sticky_if_anyone_can_write_it(tmp_path: Path) -> None:
    above = tmp_path / "shared"
    above.mkdir()
    path = _app(above / "app")
    os.chmod(above, 0o777)
    assert f"{above} is writable by every user" in _refused(path)
    os.chmod(above, 0o1777)  # like /tmp: others cannot rename our folder away
    assert load_for_install(path).package == "org.example.trusty"


def test_a_group_writable_folder_is_refused_unless_the_group_is_private(
    tmp_path: Path, other: LocalUser
) -> None:
    path = _app(tmp_path / "app")
    os.chown(path.parent, -1, other.gid)  # the other user's group: not ours
    os.chmod(path.parent, 0o775)
    assert "is writable by group" in _refused(path)


def test_a_root_anyone_can_write_is_refused(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    os.chmod(code, 0o777)
    path = _app(tmp_path / "app", f'root = "{code}"\n' + MANIFEST)
    message = _refused(path)
    assert f"{code} is writable by every user" in message
    assert "PYTHONPATH" in message


def test_a_relative_root_is_taken_from_the_manifest_folder(tmp_path: Path) -> None:
    (tmp_path / "app" / "src").mkdir(parents=True)
    path = _app(tmp_path / "app", 'root = "src"\n' + MANIFEST)
    assert load_for_install(path).root == str(tmp_path / "app" / "src")


def test_a_folder_of_another_user_is_refused(tmp_path: Path, other: LocalUser) -> None:
    path = _app(tmp_path / "app")
    os.chown(path.parent, other.uid, other.gid)
    assert f"{path.parent} is owned by user {other.name}, not by you or root" in _refused(path)


def test_a_manifest_of_another_user_is_refused(tmp_path: Path, other: LocalUser) -> None:
    path = _app(tmp_path / "app")
    os.chown(path, other.uid, other.gid)
    assert f"{path} is owned by user {other.name}" in _refused(path)


def test_a_symlink_into_another_user_s_folder_is_refused(tmp_path: Path, other: LocalUser) -> None:
    theirs = _app(tmp_path / "theirs")
    os.chown(theirs.parent, other.uid, other.gid)
    (tmp_path / "mine").symlink_to(theirs.parent)
    assert f"is owned by user {other.name}" in _refused(tmp_path / "mine" / "uidt.toml")


def test_an_interpreter_of_another_user_is_refused(tmp_path: Path, other: LocalUser) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    python = venv / "python"
    python.symlink_to(sys.executable)
    os.chown(venv, other.uid, other.gid)
    path = _app(tmp_path / "app", f'python = "{python}"\n' + MANIFEST)
    message = _refused(path)
    assert f"{venv} is owned by user {other.name}" in message
    assert "the app's python" in message


def test_a_folder_writable_by_the_user_s_private_group_installs(tmp_path: Path) -> None:
    me = pwd.getpwuid(os.geteuid())
    private = grp.getgrgid(me.pw_gid)
    if private.gr_name != me.pw_name or set(private.gr_mem) - {me.pw_name}:
        pytest.skip(f"{me.pw_name}'s primary group is not a private group")
    path = _app(tmp_path / "app")
    os.chown(path.parent, -1, me.pw_gid)
    os.chmod(path.parent, 0o775)  # umask 002 on a system with user private groups
    assert load_for_install(path).package == "org.example.trusty"

"""``uidt.home.where``: the home's folders without the ``Paths`` class, for the command line's
early knock; it must name exactly what :func:`uidt.home.paths.resolve_paths` names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from uidt.home.paths import resolve_paths
from uidt.home.where import home_dirs, socket_path


@pytest.mark.parametrize(
    ("home", "env"),
    [
        ("/h", {}),
        ("rel/home", {}),
        ("~/x", {"HOME": "/users/me"}),
        (None, {"UIDT_HOME": "/from/env"}),
        (None, {"UIDT_HOME": "", "HOME": "/users/me"}),
        (None, {"HOME": "/users/me", "XDG_RUNTIME_DIR": "/run/user/1000"}),
        (None, {"HOME": "/users/me", "XDG_STATE_HOME": "/s", "XDG_CONFIG_HOME": "/c"}),
        (None, {"HOME": "", "XDG_STATE_HOME": "/s", "XDG_CONFIG_HOME": "/c"}),
    ],
)
def test_the_same_folders_as_resolve_paths(home: str | None, env: dict[str, str]) -> None:
    paths = resolve_paths(home, env)
    assert home_dirs(home, env) == (paths.data_dir, paths.config_dir, paths.runtime_dir)
    assert socket_path(home, env) == paths.socket


def test_it_loads_neither_dataclasses_nor_logging() -> None:
    """On the command line's way to its knock: cheap to import."""
    probe = (
        "import sys, uidt.home.where\n"
        "print(','.join(m for m in ('dataclasses', 'logging', 'typing') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def test_a_relative_home_is_taken_from_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert socket_path("h", {}) == tmp_path / "h" / "uidt.sock"

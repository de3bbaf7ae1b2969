"""The installable package: a wheel with the ``uidt`` command, every module, and nothing else.

Building takes a few seconds (pip builds in an isolated environment with hatchling); the
whole round trip (wheel and sdist into a clean venv, then ``uidt download``) is in
``bench/package_check.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import uidt

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(uidt.__file__).resolve().parent


@pytest.mark.slow  # about 6 s: pip builds the wheel
def test_the_wheel_holds_the_uidt_command_and_every_module(tmp_path: Path) -> None:
    if SOURCE.parent.parent != ROOT:
        pytest.skip("uidt is not imported from this source tree")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if built.returncode != 0 and "hatchling" in built.stderr and "No matching" in built.stderr:
        pytest.skip("no package index to build with")
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("uidt-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt")))
    assert b"uidt = uidt.cli.launch:main" in entry_points
    modules = {
        p.relative_to(SOURCE.parent).as_posix()
        for p in SOURCE.rglob("*")
        if p.suffix in (".py", ".typed", ".html", ".css", ".js") and "__pycache__" not in p.parts
    }
    assert modules <= names, sorted(modules - names)
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]
    # The wheel's code runs (with this environment's dependencies): the version and completion.
    target = tmp_path / "installed"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = [sys.executable, "-c", "from uidt.cli.launch import main; main()"]
    version = subprocess.run(
        [*run, "--version"], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    assert version.stdout.strip() == f"uidt, version {uidt.__version__}"
    complete = subprocess.run(
        run,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={
            **env,
            "_UIDT_COMPLETE": "bash_complete",
            "COMP_WORDS": "uidt serv",
            "COMP_CWORD": "1",
        },
    )
    assert complete.stdout.split() == ["plain,service"]

"""The installable package: a wheel with the ``uidt`` command, every module, and nothing else.

Building takes a few seconds (pip builds in an isolated environment with hatchling). ``pipx``
(where it is installed) installs the wheel and its ``uidt download`` works, with this test
environment's dependencies and no package index. The whole round trip with dependencies from
the index (wheel and sdist, ``pip`` and ``pipx``, then ``uidt download``) is in
``bench/package_check.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import uidt

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(uidt.__file__).resolve().parent


def _build_wheel(out: Path) -> Path:
    if SOURCE.parent.parent != ROOT:
        pytest.skip("uidt is not imported from this source tree")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if built.returncode != 0 and "hatchling" in built.stderr and "No matching" in built.stderr:
        pytest.skip("no package index to build with")
    assert built.returncode == 0, built.stderr
    [wheel] = out.glob("uidt-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built once for the module's tests (each only reads it)."""
    return _build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.mark.slow  # about 6 s: pip builds the wheel
def test_the_wheel_holds_the_uidt_command_and_every_module(wheel: Path, tmp_path: Path) -> None:
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


def _pipx() -> str | None:
    beside = Path(sys.executable).parent / "pipx"
    return shutil.which("pipx") or (str(beside) if beside.exists() else None)


def _why_not_pipx(pipx: str | None) -> str | None:
    """Why the pipx test cannot run here (``None``: it can)."""
    if pipx is None:
        return "pipx is not installed (pip install pipx); bench/package_check.py installs it"
    shown = subprocess.run([pipx, "--version"], capture_output=True, text=True, check=False)
    version = tuple(int(p) for p in shown.stdout.strip().split(".")[:2] if p.isdigit())
    if version < (1, 18):
        return f"pipx {shown.stdout.strip() or '?'} is older than 1.18, the one this test knows"
    # This environment becomes pipx's shared-libraries venv: it must look like a complete one to
    # pipx, or pipx would re-create it in place (venv --clear).
    prefix = Path(sys.prefix)
    pip_main = [p / "pip" / "_internal" / "cli" / "main.py" for p in map(Path, sys.path)]
    if not (
        sys.prefix != sys.base_prefix
        and (prefix / "bin" / "python").is_file()
        and (prefix / "bin" / "pip").is_file()
        and any(m.is_file() and m.is_relative_to(prefix) for m in pip_main)
    ):
        return "the tests do not run in a venv with pip, which pipx needs here"
    return None


@pytest.mark.slow  # about 8 s: the wheel is built (once a module), pipx installs it in a venv
def test_pipx_installs_the_wheel_and_its_uidt_downloads(wheel: Path, tmp_path: Path) -> None:
    pipx = _pipx()
    why_not = _why_not_pipx(pipx)
    if why_not is not None:
        pytest.skip(why_not)
    assert pipx is not None
    from uidt.testing.httpserver import ThreadedTransferTestServer

    pipx_home, bin_dir = tmp_path / "pipx", tmp_path / "bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UIDT_", "PIPX_", "PYTHON"))}
    env |= {
        "PIPX_HOME": str(pipx_home),
        "PIPX_BIN_DIR": str(bin_dir),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
        "PIPX_DEFAULT_PYTHON": sys.executable,
        # No package index: pipx's "shared libraries" venv (whose site-packages every app venv
        # sees, behind its own) is this test environment, which has pip and uidt's dependencies;
        # pipx must not upgrade it. uidt itself is pipx's own copy, from the wheel.
        "PIPX_SHARED_LIBS": sys.prefix,
        "PIPX_DISABLE_SHARED_LIBS_AUTO_UPGRADE": "1",
    }
    installed = subprocess.run(
        [pipx, "install", "--pip-args=--no-deps --no-index", str(wheel)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    uidt_command = bin_dir / "uidt"
    where = subprocess.run(
        [
            str(pipx_home / "venvs" / "uidt" / "bin" / "python"),
            "-c",
            "import uidt; print(uidt.__file__)",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(pipx_home)
    version = subprocess.run(
        [str(uidt_command), "--version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert version.stdout.strip() == f"uidt, version {uidt.__version__}", version.stderr
    data = os.urandom(256 * 1024 + 3)
    home, dest = tmp_path / "home", tmp_path / "out.bin"
    with ThreadedTransferTestServer() as server:
        server.add_file("/d.bin", data)
        url = server.url("/d.bin")
        try:
            done = subprocess.run(
                [
                    str(uidt_command),
                    "--home",
                    str(home),
                    "download",
                    url,
                    "-o",
                    str(dest),
                    "--wait",
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                check=False,
            )
        finally:
            subprocess.run(
                [str(uidt_command), "--home", str(home), "daemon", "stop"],
                capture_output=True,
                env=env,
                timeout=60,
                check=False,
            )
    assert done.returncode == 0, done.stderr
    assert dest.read_bytes() == data

"""The installable package, end to end: build, install into clean venvs, run ``uidt download``.

1. ``python -m build`` makes a wheel and an sdist of this source tree (``pip install build``
   if it is missing; without it only a wheel is made, with ``pip wheel``).
2. Each artifact is installed with ``pip`` into a fresh venv (dependencies from the configured
   package index), and with ``pipx`` into a fresh ``PIPX_HOME``: the ``pipx`` on ``PATH``, or
   else one this check installs first into a venv of its own (``pip install pipx``, timed).
3. Each installation runs ``uidt --version`` and ``uidt --home FRESH download URL -o DEST --wait``
   of a 4 MiB file from the loopback test server, checks the bytes, and stops the daemon it
   autostarted (``uidt daemon stop``).

Prints one line per step with its time. Run with ``python -m bench package_check``; not part of
pytest (the installs fetch every dependency from the package index and take a minute or two).
``tests/test_wheel.py`` is the quick check of the wheel, and of ``pipx`` with the dependencies
of the test environment (no index).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from uidt.testing.httpserver import ThreadedTransferTestServer

ROOT = Path(__file__).resolve().parent.parent
DATA = os.urandom(4 * 1024 * 1024 + 1)
TIMEOUT_S = 600


def _run(args: list[str], **kwargs: object) -> float:
    began = time.monotonic()
    subprocess.run(args, check=True, timeout=TIMEOUT_S, **kwargs)  # type: ignore[call-overload]
    return time.monotonic() - began


def build(out: Path) -> list[Path]:
    if importlib.util.find_spec("build") is not None:
        took = _run(
            [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
            stdout=subprocess.DEVNULL,
        )
        print(f"python -m build: {took:.1f} s", flush=True)
    else:
        print("`build` is not installed (pip install build): wheel only, with pip wheel")
        took = _run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)]
        )
        print(f"pip wheel: {took:.1f} s", flush=True)
    return sorted([*out.glob("uidt-*.whl"), *out.glob("uidt-*.tar.gz")])


def use(uidt: Path, label: str, url: str, work: Path) -> None:
    version = subprocess.run([str(uidt), "--version"], capture_output=True, text=True, check=True)
    slug = label.replace(" ", "-")
    home, dest = work / f"home-{slug}", work / f"out-{slug}.bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith("UIDT_")}
    began = time.monotonic()
    subprocess.run(
        [str(uidt), "--home", str(home), "download", url, "-o", str(dest), "--wait"],
        check=True,
        timeout=TIMEOUT_S,
        env=env,
        capture_output=True,
    )
    took = time.monotonic() - began
    subprocess.run(
        [str(uidt), "--home", str(home), "daemon", "stop"], check=True, env=env, capture_output=True
    )
    good = dest.read_bytes() == DATA
    print(
        f"{label}: {version.stdout.strip()}; cold download --wait {took:.2f} s; bytes {'ok' if good else 'WRONG'}",
        flush=True,
    )
    if not good:
        raise SystemExit(f"{label}: the downloaded file differs")


def find_pipx(work: Path) -> Path:
    """The ``pipx`` on ``PATH``, or one installed into ``WORK/pipx-tool`` (``pip install pipx``)."""
    found = shutil.which("pipx")
    if found:
        return Path(found)
    tool = work / "pipx-tool"
    took = _run([sys.executable, "-m", "venv", str(tool)])
    took += _run([str(tool / "bin" / "pip"), "install", "-q", "pipx"])
    print(f"pipx is not on PATH: pip install pipx into a venv of its own: {took:.1f} s", flush=True)
    return tool / "bin" / "pipx"


def pipx_install(pipx: Path, artifact: Path, label: str, work: Path) -> Path:
    """``pipx install ARTIFACT`` into a fresh pipx home; returns its ``uidt`` command."""
    env = {
        **os.environ,
        "PIPX_HOME": str(work / f"pipx-{label}"),
        "PIPX_BIN_DIR": str(work / f"pipx-{label}-bin"),
        "PIPX_MAN_DIR": str(work / f"pipx-{label}-man"),
    }
    took = _run([str(pipx), "install", str(artifact)], env=env, stdout=subprocess.DEVNULL)
    print(f"pipx install {artifact.name}: {took:.1f} s", flush=True)
    return work / f"pipx-{label}-bin" / "uidt"


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="uidt-package-") as tmp,
        ThreadedTransferTestServer() as server,
    ):
        work = Path(tmp)
        server.add_file("/data.bin", DATA)
        url = server.url("/data.bin")
        pipx = find_pipx(work)
        for artifact in build(work / "dist"):
            label = "sdist" if artifact.name.endswith(".tar.gz") else "wheel"
            venv = work / f"venv-{label}"
            took = _run([sys.executable, "-m", "venv", str(venv)])
            took += _run([str(venv / "bin" / "pip"), "install", "-q", str(artifact)])
            print(f"pip install {artifact.name} into a clean venv: {took:.1f} s", flush=True)
            use(venv / "bin" / "uidt", f"pip {label}", url, work)
            use(pipx_install(pipx, artifact, label, work), f"pipx {label}", url, work)


if __name__ == "__main__":
    main()

"""A stand-in for ``systemctl --user``: it logs its calls and does what enable/disable do to files.

There is no systemd user manager in the test sandbox, so the units are tested as files, with
this program playing the manager (``UIDT_SYSTEMCTL``), and the socket hand-off is tested for real
with ``systemd-socket-activate`` (tests/e2e/test_socket_activation.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FAKE_SYSTEMCTL = r"""
import os, sys
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["FAKE_SYSTEMCTL_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")
assert args[0] == "--user", args
verb, rest = args[1], args[2:]
if os.environ.get("FAKE_SYSTEMCTL_FAIL") == verb:
    print(f"Failed to {verb}: Access denied", file=sys.stderr)
    sys.exit(1)
units = Path(os.environ["UIDT_SYSTEMD_USER_DIR"])
wants = {"uidt.socket": "sockets.target.wants", "uidt.service": "default.target.wants"}
if verb == "show":
    print("255")
elif verb in ("enable", "disable"):
    for name in (r for r in rest if not r.startswith("--")):
        link = units / wants[name] / name
        if verb == "enable":
            if not (units / name).exists():
                print(f"Unit file {name} does not exist.", file=sys.stderr)
                sys.exit(1)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(units / name)
        elif link.is_symlink():
            link.unlink()
elif verb == "is-enabled":
    print("enabled" if (units / wants[rest[0]] / rest[0]).exists() else "disabled")
elif verb == "is-active":
    print("active")
"""


@pytest.fixture
def fake_systemctl(config_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user manager that runs: returns the log of its calls (one line per call)."""
    script = tmp_path / "fake_systemctl.py"
    script.write_text(FAKE_SYSTEMCTL)
    log = tmp_path / "systemctl.log"
    log.touch()
    monkeypatch.setenv("UIDT_SYSTEMCTL", f"{sys.executable} {script}")
    monkeypatch.setenv("FAKE_SYSTEMCTL_LOG", str(log))
    return log


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``XDG_CONFIG_HOME`` and the user unit directory in ``tmp_path`` (no manager by default)."""
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("UIDT_SYSTEMD_USER_DIR", str(config / "systemd" / "user"))
    monkeypatch.setenv("UIDT_SYSTEMCTL", "")
    return config

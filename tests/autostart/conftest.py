"""A stand-in for ``systemctl --user``: it logs its calls and does what enable/disable do to files.

There is no systemd user manager in the test sandbox, so the units are tested as files, with
this program playing the manager (``UIDT_SYSTEMCTL``), and the socket hand-off is tested for real
with ``systemd-socket-activate`` (tests/e2e/test_socket_activation.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FAKE_SYSTEMCTL = Path(__file__).with_name("fake_systemctl.py")


@pytest.fixture
def fake_systemctl(config_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user manager that runs: returns the log of its calls (one line per call)."""
    log = tmp_path / "systemctl.log"
    log.touch()
    monkeypatch.setenv("UIDT_SYSTEMCTL", f"{sys.executable} {FAKE_SYSTEMCTL}")
    monkeypatch.setenv("FAKE_SYSTEMCTL_LOG", str(log))
    return log

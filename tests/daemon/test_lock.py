from __future__ import annotations

from pathlib import Path

import pytest

from uidt.daemon.lock import HomeLock
from uidt.errors import DaemonError


def test_second_lock_on_the_same_home_is_refused(tmp_path: Path) -> None:
    with HomeLock(tmp_path / "daemon.lock"), pytest.raises(DaemonError, match="already runs"):
        HomeLock(tmp_path / "daemon.lock").acquire()
    with HomeLock(tmp_path / "daemon.lock"):
        pass

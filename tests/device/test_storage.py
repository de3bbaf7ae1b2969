from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from uidt.device.storage import read_storage

MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("total", "free", "low"),
    [
        (100 * 1024 * MIB, 501 * MIB, False),  # big volume: 500 MiB cap
        (100 * 1024 * MIB, 499 * MIB, True),
        (1000 * MIB, 51 * MIB, False),  # small volume: 5 %
        (1000 * MIB, 49 * MIB, True),
    ],
)
def test_storage_threshold(tmp_path: Path, total: int, free: int, low: bool) -> None:
    def usage(_path: Path) -> SimpleNamespace:
        return SimpleNamespace(total=total, used=total // 10, free=free)  # used is ignored

    assert read_storage(tmp_path / "missing" / "dir", disk_usage=usage).value is low

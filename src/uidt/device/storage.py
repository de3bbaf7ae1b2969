"""Storage low: free space on the volume holding the data directory.

Low when ``free`` (``f_bavail``, never total - used) is below min(5 % of the volume, 500 MiB).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from uidt.device.reading import Reading

LOW_STORAGE_FRACTION_PERCENT = 5
LOW_STORAGE_CAP_BYTES = 500 * 1024 * 1024

DiskUsage = Callable[[Path], Any]


def low_storage_threshold(total_bytes: int) -> int:
    """Free space below this many bytes is "storage low"."""
    return min(total_bytes * LOW_STORAGE_FRACTION_PERCENT // 100, LOW_STORAGE_CAP_BYTES)


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def read_storage(data_dir: Path, *, disk_usage: DiskUsage = shutil.disk_usage) -> Reading[bool]:
    """``True`` when the data directory's volume is low on free space."""
    usage = disk_usage(_existing(data_dir))
    threshold = low_storage_threshold(int(usage.total))
    low = int(usage.free) < threshold
    mib = 1024 * 1024
    return Reading(
        low,
        f"disk_usage({data_dir}): {int(usage.free) // mib} MiB free of {int(usage.total) // mib} MiB,"
        f" low below {threshold // mib} MiB",
    )

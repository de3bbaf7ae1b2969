"""Memory pressure: how many jobs may run, and how many slots stay reserved for UIJs (docs/android-semantics.md#concurrency).

uidt has no screen state, so it uses Android's *screen-off* rows (a desktop that runs transfers is
mostly unattended): total ``L``, ``9L/10``, ``6L/10``, ``4L/10`` and a reserved UI share of
.2/.2/.15/.1 for normal/moderate/low/critical pressure.
"""

from __future__ import annotations

from uidt.device.state import MemoryPressure

_TOTAL_RATIO = {
    MemoryPressure.NORMAL: (10, 10),
    MemoryPressure.MODERATE: (9, 10),
    MemoryPressure.LOW: (6, 10),
    MemoryPressure.CRITICAL: (4, 10),
}
_UI_SHARE = {
    MemoryPressure.NORMAL: 0.2,
    MemoryPressure.MODERATE: 0.2,
    MemoryPressure.LOW: 0.15,
    MemoryPressure.CRITICAL: 0.1,
}


def max_total_jobs(steady_limit: int, memory: MemoryPressure) -> int:
    """The total number of execution slots under a memory pressure level (at least 1)."""
    num, den = _TOTAL_RATIO[memory]
    return max(1, steady_limit * num // den)


def ui_reserved_slots(max_total: int, memory: MemoryPressure) -> int:
    """Slots only user-initiated jobs may take (regular jobs must leave them free)."""
    return int(max_total * _UI_SHARE[memory])

"""Measured throughput: the daemon watches transferred-byte reports and tells the device source.

The connectivity controller's "cannot finish within the maximum runtime at this bandwidth" check
(docs/android-semantics.md#connectivity) needs a bandwidth; uidt's is what transfers actually achieved on the current
network. A run's rate counts once it covered at least ``min_window_ms``; reports are the totals
of one run, so a new run (or a reset) starts a new window.
"""

from __future__ import annotations

from dataclasses import dataclass

#: A rate measured over less than this is too noisy to keep.
MIN_WINDOW_MS = 5_000


@dataclass
class _Window:
    start_ms: int
    start_down: int
    start_up: int


class BandwidthMeter:
    """Turns per-run byte totals into kbps figures, one per window of ``min_window_ms``."""

    def __init__(self, min_window_ms: int = MIN_WINDOW_MS) -> None:
        self.min_window_ms = min_window_ms
        self._windows: dict[int, _Window] = {}

    def report(self, run_id: int, now_ms: int, down: int, up: int) -> tuple[int, int] | None:
        """Record a run's totals; returns ``(down_kbps, up_kbps)`` when a window is complete."""
        window = self._windows.get(run_id)
        if window is None or down < window.start_down or up < window.start_up:
            self._windows[run_id] = _Window(now_ms, down, up)
            return None
        span = now_ms - window.start_ms
        if span < self.min_window_ms:
            return None
        down_kbps = (down - window.start_down) * 8 // span  # bytes/ms * 8 = kbit/s
        up_kbps = (up - window.start_up) * 8 // span
        self._windows[run_id] = _Window(now_ms, down, up)
        return int(down_kbps), int(up_kbps)

    def forget(self, run_id: int) -> None:
        self._windows.pop(run_id, None)

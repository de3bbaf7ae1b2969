"""Runtime limits (docs/android-semantics.md#runtime-limits): minimum guarantee, maximum runtime and the UIJ timeout quota."""

from __future__ import annotations

from collections import defaultdict, deque

from uidt.settings import Settings

UNKNOWN = -1


class TimeoutQuota:
    """Counts user-initiated-job timeouts per app in a sliding window (``es_u_timeout_uij_*``)."""

    def __init__(self, count: int, window_ms: int) -> None:
        self._count = count
        self._window_ms = window_ms
        self._events: defaultdict[str, deque[int]] = defaultdict(deque)

    def note(self, app: str, now: int) -> None:
        """Record one timeout of a UIJ of ``app``."""
        self._events[app].append(now)

    def in_quota(self, app: str, now: int) -> bool:
        """Fewer than ``count`` timeouts in the window ending now."""
        events = self._events.get(app)
        if not events:
            return True
        while events and events[0] <= now - self._window_ms:
            events.popleft()
        return len(events) < self._count

    def reset(self, app: str) -> None:
        """Forget an app's timeouts (``reset-execution-quota``)."""
        self._events.pop(app, None)


def min_guarantee_ms(
    settings: Settings,
    *,
    treated_as_uij: bool,
    uij_ok: bool,
    in_quota: bool,
    has_network: bool,
    transfer_ms: int = UNKNOWN,
) -> int:
    """The minimum execution guarantee of a run (``getMinJobExecutionGuaranteeMs``)."""
    if not (treated_as_uij and uij_ok):
        return settings.runtime_min_guarantee_ms
    upper = settings.runtime_ui_limit_ms if in_quota else settings.runtime_free_quota_max_limit_ms
    if not has_network:
        return min(upper, settings.runtime_min_ui_guarantee_ms)
    dt_guarantee = settings.runtime_min_ui_data_transfer_guarantee_ms
    if settings.runtime_use_data_estimates_for_limits:
        if transfer_ms == UNKNOWN:
            return min(upper, dt_guarantee)
        factor = settings.runtime_min_ui_data_transfer_guarantee_buffer_factor
        return min(upper, max(int(transfer_ms * factor), dt_guarantee))
    return min(upper, max(settings.runtime_min_ui_guarantee_ms, dt_guarantee))


def max_runtime_ms(
    settings: Settings, *, treated_as_uij: bool, uij_ok: bool, in_quota: bool
) -> int:
    """The maximum runtime of a run (``getMaxJobExecutionTimeMs``): 12 h, else 30 min."""
    if treated_as_uij and uij_ok and in_quota:
        return settings.runtime_ui_limit_ms
    return settings.runtime_free_quota_max_limit_ms


def steady_concurrency_limit(installed_memory_bytes: int, setting: int | None) -> int:
    """Android's default steady limit by RAM (8/16/20/32/40), or the setting, clamped to [1, 64]."""
    if setting is not None:
        return max(1, min(64, setting))
    gib = 1024**3
    if installed_memory_bytes <= 2 * gib:
        limit = 8
    elif installed_memory_bytes <= 6 * gib:
        limit = 16
    elif installed_memory_bytes <= 8 * gib:
        limit = 20
    elif installed_memory_bytes <= 12 * gib:
        limit = 32
    else:
        limit = 40
    return limit

"""Durations, sizes and rates as a scenario writes them (``"1h30m"``, ``"800MB"``, ``"2MB/s"``).

Each parser raises ``ValueError`` with a sentence saying what it expected; the scenario loader
adds the line.
"""

from __future__ import annotations

import re

_DURATION_UNITS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)")
_SIZE_UNITS = {
    "": 1,
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def duration_ms(value: object) -> int:
    """``"1h30m"``, ``"90s"``, ``"250ms"`` or a number of seconds → milliseconds (≥ 0)."""
    if isinstance(value, bool):
        raise ValueError('expected a duration such as "90s" or "1h30m", got a boolean')
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value}")
        return round(value * 1000)
    if not isinstance(value, str):
        raise ValueError(f'expected a duration such as "90s" or "1h30m", got {value!r}')
    text = value.replace(" ", "")
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(f'expected a duration such as "90s" or "1h30m", got {value!r}')
    return round(total)


def size_bytes(value: object) -> int:
    """``"800MB"``, ``"1.5GiB"`` or a number of bytes → bytes (≥ 0)."""
    if isinstance(value, bool):
        raise ValueError('expected a size such as "800MB" or "2GiB", got a boolean')
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative: {value}")
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f'expected a size such as "800MB" or "2GiB", got {value!r}')
    return round(float(match.group(1)) * _SIZE_UNITS[unit])


def rate_bytes_per_s(value: object) -> float:
    """``"2MB/s"`` or a number of bytes per second → bytes per second (> 0)."""
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str):
        if not text.endswith("/s"):
            raise ValueError(f'expected a rate such as "2MB/s", got {value!r}')
        text = text[:-2]
    try:
        rate = float(size_bytes(text))
    except ValueError:
        raise ValueError(f'expected a rate such as "2MB/s", got {value!r}') from None
    if rate <= 0:
        raise ValueError(f"a rate must be above zero, got {value!r}")
    return rate


def span_text(ms: int) -> str:
    """A length of time in words a person reads at a glance: ``1h05m``, ``35m00s``, ``12s``."""
    seconds = round(ms / 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"

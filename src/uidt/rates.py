"""Transfer rates as people type them: ``500K``, ``2M``, ``1.5G``, ``1048576``, ``off``.

The form is curl's ``--limit-rate`` (and rclone's ``--bwlimit``): a number of bytes per second,
optionally with a 1024-based suffix ``K``, ``M``, ``G`` or ``T`` (either case). ``0`` and ``off``
mean no limit, as in both tools. Shared by ``uidt download/upload --limit-rate``, the
``bandwidth_limit`` setting and its timetable (:mod:`uidt.timetable`) and
``uidt cmd bandwidth-limit``.
"""

from __future__ import annotations

import re

from uidt.errors import SettingsError

_SUFFIXES = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_RATE = re.compile(r"^(\d+(?:\.\d+)?)([kmgt]?)(?:i?b)?(?:/s)?$", re.IGNORECASE)
#: The words that turn a limit off (besides ``0``).
OFF_WORDS = ("off", "none", "unlimited")


def parse_rate(text: str, what: str = "rate") -> int | None:
    """Bytes per second of ``text``; ``None`` for no limit (``off``, ``0``).

    ``K``/``M``/``G``/``T`` multiply by powers of 1024; a trailing ``B``, ``iB`` or ``/s`` is
    allowed (``2MiB/s``). A fraction is rounded down to whole bytes.

    Raises:
        SettingsError: Not a rate (the message names ``what`` and shows the accepted forms).
    """
    value = text.strip()
    if value.lower() in OFF_WORDS:
        return None
    match = _RATE.match(value)
    if match is None:
        raise SettingsError(
            f"{what}: {text!r} is not a rate; give bytes per second with an optional "
            "K, M, G or T suffix (500K, 2M, 1.5G, 1048576), or off"
        )
    rate = int(float(match.group(1)) * _SUFFIXES[match.group(2).lower()])
    if rate == 0:
        if float(match.group(1)) != 0:
            raise SettingsError(f"{what}: {text!r} is less than 1 byte per second")
        return None
    return rate


def format_rate(rate: int | None) -> str:
    """``2097152`` → ``2M``; ``1536`` → ``1.5K``; ``None`` → ``off`` (parse_rate reads it back)."""
    if rate is None:
        return "off"
    for suffix, factor in (("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if rate >= factor:
            value = rate / factor
            if value == int(value):
                return f"{int(value)}{suffix}"
            if round(value, 2) * factor == rate:
                return f"{round(value, 2):g}{suffix}"
            break
    return str(rate)

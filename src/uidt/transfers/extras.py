"""What a transfer job's extras say about how to transfer: the rate limit, the lowest-speed
rule and the connections of a download, each checked (a job stored by hand, or by another
version, may hold anything there: it fails with a clear :class:`~uidt.errors.TransferError`).
"""

from __future__ import annotations

from typing import Any

from uidt.errors import InvalidJobError, TransferError
from uidt.transfers.segments import MIN_SPLIT_SIZE, Split, check_split
from uidt.transfers.speedfloor import LOWEST_SPEED, LOWEST_SPEED_SECONDS


def limit_rate(extras: dict[str, Any]) -> int | None:
    """The job's own rate limit in bytes per second (``limit_rate``; ``None``: none).

    Raises:
        TransferError: It is there but not a positive integer.
    """
    rate = extras.get("limit_rate")
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
        raise TransferError(f"bad rate limit in the job: {rate!r} bytes/s")
    return int(rate)


def segment_rule(extras: dict[str, Any]) -> tuple[Split, int]:
    """The connections of a download job: ``(split, min_split_size)`` (aria2's options;
    ``split`` may be ``"auto"``).

    Raises:
        TransferError: The job's extras hold something else than a count and a size there.
    """
    try:
        split = check_split(extras.get("split", 1), "the job")
    except InvalidJobError as exc:
        raise TransferError(str(exc)) from None
    least = extras.get("min_split_size", MIN_SPLIT_SIZE)
    if isinstance(least, bool) or not isinstance(least, int) or least < 1:
        raise TransferError(f"bad min_split_size in the job: {least!r} bytes")
    return split, least


def speed_rule(extras: dict[str, Any]) -> tuple[int, float]:
    """The lowest-speed rule of a download job: ``(bytes per second, seconds)``.

    Raises:
        TransferError: The job's extras hold something else than numbers there.
    """
    speed = extras.get("lowest_speed", LOWEST_SPEED)
    seconds = extras.get("lowest_speed_seconds", LOWEST_SPEED_SECONDS)
    if (
        isinstance(speed, bool)
        or not isinstance(speed, int)
        or isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
    ):
        raise TransferError(
            f"bad lowest-speed rule in the job: {speed!r} bytes/s over {seconds!r} s"
        )
    return speed, float(seconds)

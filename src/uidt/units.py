"""Human-readable sizes, shared by the CLI, the web page and the transfer notifications."""

from __future__ import annotations


def human_bytes(n: float | None) -> str:
    """``1536`` → ``1.5 KiB``; ``None`` or negative (unknown) → ``?``."""
    if n is None or n < 0:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"

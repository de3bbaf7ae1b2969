"""Memory pressure from PSI (``/proc/pressure/memory``) and ``/proc/meminfo``.

PSI thresholds (percent of the last 10 s, ``avg10``):

* CRITICAL: ``full`` ≥ 20 or ``some`` ≥ 60
* LOW: ``full`` ≥ 5 or ``some`` ≥ 30
* MODERATE: ``some`` ≥ 10
* otherwise NORMAL

MemAvailable as a share of MemTotal: < 3 % CRITICAL, < 6 % LOW, < 12 % MODERATE.

PSI stays near zero on swapless machines until just before the OOM killer, so when both are
readable the worse of the two levels is reported; either alone is used when the other is missing.
"""

from __future__ import annotations

from pathlib import Path

from uidt.device.reading import Reading, read_text, under
from uidt.device.state import MemoryPressure


def psi_level(some_avg10: float, full_avg10: float) -> MemoryPressure:
    """The pressure level for PSI ``some``/``full`` avg10 percentages."""
    if full_avg10 >= 20 or some_avg10 >= 60:
        return MemoryPressure.CRITICAL
    if full_avg10 >= 5 or some_avg10 >= 30:
        return MemoryPressure.LOW
    if some_avg10 >= 10:
        return MemoryPressure.MODERATE
    return MemoryPressure.NORMAL


def available_level(available_fraction: float) -> MemoryPressure:
    """The pressure level for MemAvailable / MemTotal."""
    if available_fraction < 0.03:
        return MemoryPressure.CRITICAL
    if available_fraction < 0.06:
        return MemoryPressure.LOW
    if available_fraction < 0.12:
        return MemoryPressure.MODERATE
    return MemoryPressure.NORMAL


def parse_psi(text: str) -> tuple[float, float] | None:
    """``(some avg10, full avg10)`` from a PSI file, ``None`` if malformed."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        for field in rest.split():
            key, _, value = field.partition("=")
            if key == "avg10":
                try:
                    values[kind] = float(value)
                except ValueError:
                    return None
    if "some" not in values:
        return None
    return values["some"], values.get("full", 0.0)


def parse_meminfo(text: str) -> float | None:
    """MemAvailable / MemTotal from ``/proc/meminfo``, ``None`` if missing."""
    fields: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            fields[key.strip()] = int(parts[0])
    total = fields.get("MemTotal", 0)
    if total <= 0 or "MemAvailable" not in fields:
        return None
    return fields["MemAvailable"] / total


def read_memory(root: Path = Path("/")) -> Reading[MemoryPressure]:
    """The worse of the PSI level and the available-memory level, from what is readable."""
    levels: list[MemoryPressure] = []
    parts: list[str] = []
    psi_text = read_text(under(root, "/proc/pressure/memory"))
    psi = parse_psi(psi_text) if psi_text is not None else None
    if psi is not None:
        levels.append(psi_level(*psi))
        parts.append(f"PSI some avg10={psi[0]:.2f} full avg10={psi[1]:.2f}")
    meminfo_text = read_text(under(root, "/proc/meminfo"))
    fraction = parse_meminfo(meminfo_text) if meminfo_text is not None else None
    if fraction is not None:
        levels.append(available_level(fraction))
        parts.append(f"MemAvailable {fraction:.1%}")
    if not levels:
        raise OSError("neither /proc/pressure/memory nor /proc/meminfo is readable")
    return Reading(max(levels), "; ".join(parts))

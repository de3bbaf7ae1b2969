"""``Reading``: a value read from the machine plus a human description of where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Reading(Generic[T]):
    """One reader's result: ``value`` and ``source`` (shown by ``uidt cmd device show``)."""

    value: T
    source: str


def read_text(path: Path) -> str | None:
    """The stripped text of a small kernel file, or ``None`` if it is missing or unreadable."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def read_int(path: Path) -> int | None:
    """A kernel file holding one integer, or ``None``."""
    text = read_text(path)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def under(root: Path, absolute: str) -> Path:
    """``absolute`` (e.g. ``/proc/net/route``) inside ``root`` (a fixture tree in tests)."""
    return root / absolute.lstrip("/")

"""Start-up timing marks for benchmarks: one line per mark, off unless asked for.

When the environment names a file in ``UIDT_TIMING_MARKS``, :func:`mark` appends
``<CLOCK_MONOTONIC seconds> <pid> <name> <process CPU seconds>`` to it (one ``write`` of an
``O_APPEND`` file, so
the daemon and its workers, which inherit the variable, can share one file). The monotonic
clock is the same for every process of the machine, so the marks of different processes can
be laid side by side (``bench/restart_bench.py`` does). Unset, a mark costs one lookup in
``os.environ``. This module imports nothing beyond :mod:`os` and :mod:`time`: it is loaded on
the start-up path it measures.
"""

from __future__ import annotations

import os
import time

ENV = "UIDT_TIMING_MARKS"


class Mark:
    """One mark as read back: when, which process, what, and that process's CPU time then.

    A plain class rather than a named tuple or dataclass: this module must stay cheap to import.
    """

    __slots__ = ("cpu", "name", "pid", "stamp")

    def __init__(self, stamp: float, pid: int, name: str, cpu: float | None) -> None:
        self.stamp = stamp
        self.pid = pid
        self.name = name
        #: User + system CPU seconds of the process at the mark (``None``: not recorded).
        self.cpu = cpu

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mark):
            return NotImplemented
        return (self.stamp, self.pid, self.name, self.cpu) == (
            other.stamp,
            other.pid,
            other.name,
            other.cpu,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Mark({self.stamp!r}, {self.pid!r}, {self.name!r}, {self.cpu!r})"


def mark(name: str) -> None:
    """Record that the process reached ``name`` now (nothing unless ``UIDT_TIMING_MARKS`` is set).

    A mark that cannot be written is dropped: timing never breaks the work it measures.
    """
    path = os.environ.get(ENV)
    if not path:
        return
    line = f"{time.monotonic():.6f} {os.getpid()} {name} {time.process_time():.6f}\n".encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        os.write(fd, line)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_marks(path: str | os.PathLike[str]) -> list[tuple[float, int, str]]:
    """The marks of a file written by :func:`mark`, in file order (malformed lines skipped)."""
    return [(found.stamp, found.pid, found.name) for found in read_cpu_marks(path)]


def read_cpu_marks(path: str | os.PathLike[str]) -> list[Mark]:
    """:func:`read_marks` with each process's CPU time at the mark (malformed lines skipped)."""
    marks: list[Mark] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read()
    except FileNotFoundError:
        return marks
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) not in (3, 4):
            continue
        try:
            cpu = float(fields[3]) if len(fields) == 4 else None
            marks.append(Mark(float(fields[0]), int(fields[1]), fields[2], cpu))
        except ValueError:
            continue
    return marks

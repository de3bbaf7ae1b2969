"""Start-up timing marks for benchmarks: one line per mark, off unless asked for.

When the environment names a file in ``UIDT_TIMING_MARKS``, :func:`mark` appends
``<CLOCK_MONOTONIC seconds> <pid> <name>`` to it (one ``write`` of an ``O_APPEND`` file, so
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


def mark(name: str) -> None:
    """Record that the process reached ``name`` now (nothing unless ``UIDT_TIMING_MARKS`` is set).

    A mark that cannot be written is dropped: timing never breaks the work it measures.
    """
    path = os.environ.get(ENV)
    if not path:
        return
    line = f"{time.monotonic():.6f} {os.getpid()} {name}\n".encode()
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
    marks: list[tuple[float, int, str]] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read()
    except FileNotFoundError:
        return marks
    for line in text.splitlines():
        stamp, _, rest = line.partition(" ")
        pid, _, name = rest.partition(" ")
        try:
            marks.append((float(stamp), int(pid), name))
        except ValueError:
            continue
    return marks

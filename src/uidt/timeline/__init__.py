"""Timeline pictures of jobs: why a job ran, waited and stopped, lined up with the device.

One module for every picture: ``uidt sim`` builds a :class:`Timeline` from its trace; the daemon's
history of real jobs can build the same model. :func:`write_timeline` draws it as SVG (no
dependency) or PNG (matplotlib, the ``plot`` extra), chosen by the file's suffix.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from uidt.errors import RenderError
from uidt.timeline.model import Band, Curve, JobRow, Lane, Mark, MarkKind, Style, Timeline
from uidt.timeline.svg import render_svg


def check_target(path: Path) -> None:
    """Refuse, before any work, a picture that :func:`write_timeline` could not draw.

    Raises:
        RenderError: a suffix other than ``.svg``/``.png``, or ``.png`` without matplotlib.
    """
    suffix = path.suffix.lower()
    if suffix == ".png":
        from uidt.timeline.png import require_matplotlib

        require_matplotlib()
    elif suffix != ".svg":
        raise RenderError(
            f"cannot draw a timeline as {suffix or 'a file without a suffix'}: use .svg or .png"
        )


def write_timeline(timeline: Timeline, path: Path) -> None:
    """Draw ``timeline`` into ``path`` (``.svg`` or ``.png``).

    Raises:
        RenderError: another suffix, or ``.png`` without matplotlib.
        OSError: the file cannot be written.
    """
    check_target(path)
    if path.suffix.lower() == ".svg":
        data = render_svg(timeline).encode("utf-8")
    else:
        from uidt.timeline.png import render_png

        data = render_png(timeline)
    # written beside it under a fresh name (created exclusively: no planted link is followed)
    # and renamed: a half-written picture never sits under the name asked for
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(partial, 0o666 & ~_umask())
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would, for every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


__all__ = [
    "Band",
    "Curve",
    "JobRow",
    "Lane",
    "Mark",
    "MarkKind",
    "Style",
    "Timeline",
    "check_target",
    "render_svg",
    "write_timeline",
]

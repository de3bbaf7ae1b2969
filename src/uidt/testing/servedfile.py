"""A file the test server serves, its validators (``ETag``, ``Last-Modified``), and the byte
range a ``GET`` asks for: ``Range`` (the first ``bytes=N-`` or ``bytes=N-M``), honoured only while
``If-Range`` still names the file, unless the path's :class:`~uidt.testing.httpfaults.Faults`
say to ignore ranges or ``If-Range``.
"""

from __future__ import annotations

import hashlib
import mmap
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from aiohttp import web

from uidt.testing.httpfaults import Faults

__all__ = ["ServedFile", "etag_of", "if_range_holds", "requested_range"]


@dataclass
class ServedFile:
    """A path's bytes (in memory or mapped from a file) and their validators."""

    data: bytes | mmap.mmap
    etag: str
    last_modified: datetime


def etag_of(data: bytes, generation: int) -> str:
    """A strong ETag for ``data`` (``generation`` tells apart a change to the same bytes)."""
    return '"' + hashlib.sha256(data).hexdigest()[:16] + f"-{generation}" + '"'


def requested_range(
    request: web.Request, file: ServedFile, faults: Faults
) -> tuple[int, int] | None:
    """``(first, end)`` (end exclusive) of a ``bytes=N-`` / ``bytes=N-M`` request, else ``None``."""
    header = request.headers.get("Range")
    if faults.no_ranges or not header or not header.startswith("bytes="):
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and not faults.ignore_if_range and not if_range_holds(if_range, file):
        return None
    spec = header[len("bytes=") :].split(",")[0].strip()
    first, _, last = spec.partition("-")
    if not first.isdigit() or (last and not last.isdigit()):
        return None
    end = min(len(file.data), int(last) + 1) if last else len(file.data)
    return int(first), end


def if_range_holds(if_range: str, file: ServedFile) -> bool:
    """Whether ``If-Range`` (a strong ETag or an HTTP date) still names ``file``."""
    if if_range.startswith(('"', "W/")):
        return if_range == file.etag and not if_range.startswith("W/")
    try:
        when = parsedate_to_datetime(if_range)
    except (TypeError, ValueError):
        return False
    return when == file.last_modified

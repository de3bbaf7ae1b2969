"""The checkpoint of a segmented download while its ranges arrive: :class:`RangeCheckpoints`,
and the writeback that keeps its ``fdatasync`` short: :class:`RangeWriteback`.

Each save names every range's ``done`` end as it was *before* the part file's ``fdatasync``
(:meth:`~uidt.transfers.partfile.PartFile.save_segments`), so a checkpoint never names a byte
a crash could lose; saves run one at a time, in order (an older one finishing last would
leave staler ranges), every ``save_seconds`` while the fetch runs and when it ends.

Each range's bytes are handed to the kernel's writeback as they come, every
:data:`WRITEBACK_BYTES` (``sync_file_range``, on one thread beside the copies, as the
one-connection writer does in :mod:`uidt.transfers.partio`), so the disk works while the
network does and a checkpoint's ``fdatasync`` finds little left to write. Without it each one
waited for every byte since the one before: measured on a 1 GiB loopback download, 0.1-0.5 s
per ``fdatasync`` and one of them at the very end, against 5 ms with the writeback started.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

from uidt.transfers.diskio import start_writeback
from uidt.transfers.http import finish
from uidt.transfers.partfile import PartFile
from uidt.transfers.segments import Segment, segments_state

#: How often a segmented download's checkpoint is saved while it runs.
SAVE_SECONDS = 0.5
#: Bytes of one range after which their writeback is started (the one-connection batch).
WRITEBACK_BYTES = 8 * 1024 * 1024


class RangeCheckpoints:
    """Saves the checkpoint of ``part``'s ``segments`` (see the module docstring)."""

    def __init__(
        self, part: PartFile, segments: list[Segment], save_seconds: float = SAVE_SECONDS
    ) -> None:
        self.part = part
        self.segments = segments
        self.save_seconds = save_seconds
        self._saving = asyncio.Lock()

    async def save(self) -> None:
        """Save a checkpoint naming what every range holds now (after an fdatasync)."""
        async with self._saving:
            ranges = segments_state(self.segments)  # taken first: never more than is synced
            saving = asyncio.ensure_future(asyncio.to_thread(self.part.save_segments, ranges))
            # A save that is stopped still ends before the next one starts.
            await finish(saving)
            saving.result()

    async def keep_saving(self) -> None:
        """Save every ``save_seconds`` until cancelled."""
        while True:
            await asyncio.sleep(self.save_seconds)  # pacing the checkpoints, real time
            await self.save()


class RangeWriteback:
    """Starts the writeback of ranges' bytes on one thread of its own (see the module
    docstring); :meth:`close` waits for what was asked, before the descriptors close."""

    def __init__(self) -> None:
        self._pool = (
            None
            if start_writeback is None
            else ThreadPoolExecutor(1, thread_name_prefix="uidt-writeback")
        )

    def start(self, fd: int, offset: int, length: int) -> None:
        """Ask for the writeback of ``length`` bytes at ``offset`` of ``fd`` (any thread)."""
        if self._pool is not None and start_writeback is not None:
            with contextlib.suppress(RuntimeError):  # closed: a copy stopped late; a hint only
                self._pool.submit(start_writeback, fd, offset, length)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

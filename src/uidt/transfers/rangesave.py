"""The checkpoint of a segmented download while its ranges arrive: :class:`RangeCheckpoints`.

Each save names every range's ``done`` end as it was *before* the part file's ``fdatasync``
(:meth:`~uidt.transfers.partfile.PartFile.save_segments`), so a checkpoint never names a byte
a crash could lose; saves run one at a time, in order (an older one finishing last would
leave staler ranges), every ``save_seconds`` while the fetch runs and when it ends.
"""

from __future__ import annotations

import asyncio

from uidt.transfers.http import finish
from uidt.transfers.partfile import PartFile
from uidt.transfers.segments import Segment, segments_state

#: How often a segmented download's checkpoint is saved while it runs.
SAVE_SECONDS = 0.5


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

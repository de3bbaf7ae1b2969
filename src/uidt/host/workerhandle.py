"""The daemon's handle on one app's running worker: its process, its stream, its pings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from uidt.host.launcher import WorkerProcess

# The wire format is imported when a message is sent (see uidt.host.apphost).
if TYPE_CHECKING:
    from uidt.host import messages as msg


@dataclass
class WorkerHandle:
    """One worker the host talks to (``AppHost.workers`` keeps one per app)."""

    app: str
    process: WorkerProcess
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reader_task: asyncio.Task[None] | None = None
    pings: dict[int, asyncio.Future[None]] = field(default_factory=dict)

    def send(self, message: msg.ToWorker) -> None:
        from uidt.host import protocol

        if not self.writer.is_closing():
            self.writer.write(protocol.encode(message))

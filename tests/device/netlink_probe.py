"""Run a ``LinuxDeviceSource`` and print each network reading as a JSON line (for the namespace
tests, which run it inside a network namespace with ``ip netns exec``).

Usage: ``python netlink_probe.py DATA_DIR``. The polls are an hour apart, so only the kernel's
notifications can explain a reading after the first line (``{"ready": ...}``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from uidt.device.linux import LinuxDeviceSource

HOUR_S = 3600.0


class PrintingSource(LinuxDeviceSource):
    """Prints every network reading: its number, the network's name and the netlink counters."""

    readings = 0

    def poll_network(self) -> None:
        super().poll_network()
        self.readings += 1
        network = self.snapshot().network
        watch = getattr(self, "_netlink", None)  # None: before netlink, or none here
        print(
            json.dumps(
                {
                    "reading": self.readings,
                    "network": None if network is None else network.name,
                    "messages": 0 if watch is None else watch.messages,
                    "overflows": 0 if watch is None else watch.overflows,
                    "at": time.monotonic(),
                }
            ),
            flush=True,
        )


async def main(data_dir: Path) -> None:
    source = PrintingSource(data_dir, poll_network_s=HOUR_S, poll_other_s=HOUR_S, use_dbus=False)
    task = asyncio.create_task(source.run())
    await asyncio.sleep(0)  # run() opens the socket before its first await
    print(json.dumps({"ready": source.describe()["network"]}), flush=True)
    await task


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))

"""How many connections a server holds, and which one gives way when it is full.

Both surfaces of the daemon use it: the control socket (:mod:`uidt.daemon.httpd`) and the
Task Manager's loopback TCP port (:mod:`uidt.web.guard`). A connection is *waiting* while no
request of it is being answered (its head has not fully arrived, or it idles between keep-alive
requests) and *busy* while one is. When a new connection arrives at a full server, the oldest
waiting connection is closed to make room: a client that sends its request at once, as every
real client does, therefore always gets through, while connections that only hold a slot (a
"slowloris" sending its head a byte at a time, or never) are the ones that give way. Only when
every held connection is busy is the newcomer refused (503).

The cap also keeps the daemon's file descriptors for its real work: with the limits below, the
two surfaces together hold at most a quarter of ``RLIMIT_NOFILE`` (256 of the common 1,024).
"""

from __future__ import annotations

import resource
from collections.abc import Callable
from dataclasses import dataclass, field

#: The most file descriptors the two servers together may hold: this share of RLIMIT_NOFILE.
FD_SHARE = 4


def connection_cap(wanted: int, *, share: int = FD_SHARE) -> int:
    """``wanted``, lowered to fit the share of the open-file limit the servers may use."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return max(1, wanted)
    return max(1, min(wanted, soft // share // 2))


@dataclass(eq=False)
class Slot:
    """One held connection: when it arrived, whether a request of it is being answered."""

    accepted: float
    close: Callable[[], object]
    busy: bool = False


@dataclass
class ConnectionSlots:
    """At most ``limit`` connections; the oldest waiting one gives way to a newcomer."""

    limit: int
    slots: list[Slot] = field(default_factory=list)
    #: Connections closed to make room, and newcomers refused because all were busy.
    evicted: int = 0
    refused: int = 0
    #: Refused connections still being answered (a server bounds these by ``limit`` too).
    refusing: int = 0

    def admit(self, accepted: float, close: Callable[[], object]) -> Slot | None:
        """Hold a new connection (closing the oldest waiting one if full); ``None``: refuse it."""
        if len(self.slots) >= self.limit:
            victim = next((s for s in self.slots if not s.busy), None)  # oldest first
            if victim is None:
                self.refused += 1
                return None
            self.release(victim)
            self.evicted += 1
            victim.close()
        slot = Slot(accepted, close)
        self.slots.append(slot)
        return slot

    def release(self, slot: Slot) -> None:
        """Forget ``slot`` (its connection ended); harmless if already forgotten."""
        if slot in self.slots:
            self.slots.remove(slot)

    def __len__(self) -> int:
        return len(self.slots)

"""``OutageBreaker``: how long a call of the shared store waits for a database connection.

Normally a call waits up to a heartbeat period (at most ``CONNECT_TIMEOUT_S``, 10 s) for a
connection of the pool: a busy server may be slow to answer. Once a call found the database unreachable (it could not connect,
or its connection broke), waiting that long again helps nobody: the store writer's thread would
spend 10 s on each write, and ``schedule()`` — which answers only after its write is committed —
would answer late. So while the database is known to be away, every call waits at most
:data:`OUTAGE_WAIT_S` and fails with a clear error; the first call that gets a connection again
closes the breaker. Nothing acknowledged is lost: a write that failed was never acknowledged
(its ``sync()`` raised), and the pool goes on reconnecting in the background.

The first call to meet the outage need not wait the whole 10 s either:
:func:`pooled_connection` waits in short slices and gives up as soon as the pool's own attempts
to connect have failed meanwhile (a server that refuses, a socket gone). A server that
accepts nothing and refuses nothing (packets dropped: a partition) is found by libpq's
``tcp_user_timeout`` and keepalives on every connection (a heartbeat period,
:func:`link_options`; the pool's and the listening one of :mod:`uidt.store.pg_wake`), so that
call fails within about a period as well.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from psycopg_pool import ConnectionPool, PoolTimeout


def heartbeat_period_ms(lease_ms: int) -> int:
    """A third of the lease (how often the daemon renews), at least one second."""
    return max(1000, lease_ms // 3)


def link_options(url: str, lease_ms: int) -> dict[str, int]:
    """libpq's TCP settings that make a cut link fail within about a heartbeat period.

    A partition drops packets: nothing refuses, nothing answers, and a query sent on a pooled
    connection would wait for the kernel's retransmissions (minutes). ``tcp_user_timeout``
    closes the connection once sent data stayed unacknowledged for a heartbeat period, and
    keepalives find an idle connection's peer gone within about the same. libpq ignores them
    on unix sockets; a setting the URL names itself is left to it.
    """
    period_ms = heartbeat_period_ms(lease_ms)
    options = {
        "keepalives": 1,
        "keepalives_idle": max(1, period_ms // 1000),
        "keepalives_interval": 1,
        "keepalives_count": 3,
        "tcp_user_timeout": period_ms,
    }
    return {name: value for name, value in options.items() if name not in url}


#: The most a call waits for a connection while the database is known to be away.
OUTAGE_WAIT_S = 0.1
#: How long each slice of a wait for a connection is (then the pool's failures are looked at).
SLICE_S = 0.1


def _connect_errors(pool: ConnectionPool[Any]) -> int:
    return int(pool.get_stats().get("connections_errors", 0))


@contextlib.contextmanager
def pooled_connection(
    pool: ConnectionPool[Any], wait_s: float, *, monotonic: Callable[[], float] = time.monotonic
) -> Iterator[Any]:
    """A connection of ``pool`` (returned to it afterwards, committed or rolled back), waited
    for at most ``wait_s``, and no longer once the pool failed to connect meanwhile.

    Raises:
        PoolTimeout: no connection came (the database is away, or too slow).
    """
    errors = _connect_errors(pool)
    deadline = monotonic() + wait_s
    while True:
        left = deadline - monotonic()
        try:
            conn = pool.getconn(timeout=max(0.01, min(SLICE_S, left)))
            break
        except PoolTimeout:
            if left <= SLICE_S or _connect_errors(pool) > errors:
                raise
    try:
        with conn:
            yield conn
    finally:
        pool.putconn(conn)


class OutageBreaker:
    """Whether the database is known to be away, and since when (see the module doc)."""

    def __init__(
        self, normal_wait_s: float, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.normal_wait_s = normal_wait_s
        self._monotonic = monotonic
        self.down_since: float | None = None

    def wait_s(self, at_most: float | None = None) -> float:
        """How long the next call may wait for a connection."""
        wait = OUTAGE_WAIT_S if self.down_since is not None else self.normal_wait_s
        return wait if at_most is None else min(wait, at_most)

    def failed(self) -> None:
        """A call could not reach the database."""
        if self.down_since is None:
            self.down_since = self._monotonic()

    def succeeded(self) -> None:
        """A call reached the database."""
        self.down_since = None

    def down_for_s(self) -> float | None:
        """Seconds since the database went away, or ``None`` while it answers."""
        return None if self.down_since is None else self._monotonic() - self.down_since

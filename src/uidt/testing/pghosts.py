"""Several hosts on one PostgreSQL job store, in one test process, with a lease clock moved by hand.

Each "host" is a :class:`~uidt.store.postgres.PostgresJobStore` opened under its own host id
on the same database; every host of a test reads the same :class:`LeaseClock`, so a test moves
time for the whole fleet at once (``clock.advance(LEASE_MS)``: every lease expires)::

    with StoreHosts(url, lease_ms=10_000, clock=clock) as hosts:
        a, b = hosts.open("a"), hosts.open("b")
"""

from __future__ import annotations

from types import TracebackType

from uidt.store.postgres import PostgresJobStore


class LeaseClock:
    """Milliseconds since the epoch, moved by hand; shared by every host of a test."""

    def __init__(self, now: int = 1_700_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


class StoreHosts:
    """Opens store instances as named hosts; closes them all at the end of the ``with``."""

    def __init__(self, url: str, *, lease_ms: int, clock: LeaseClock) -> None:
        self.url = url
        self.lease_ms = lease_ms
        self.clock = clock
        self._opened: list[PostgresJobStore] = []

    def open(self, name: str) -> PostgresJobStore:
        """A store instance whose host id is ``name``."""
        store = PostgresJobStore(self.url, host_id=name, lease_ms=self.lease_ms, clock=self.clock)
        self._opened.append(store)
        return store

    def __enter__(self) -> StoreHosts:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for store in self._opened:
            store.close()

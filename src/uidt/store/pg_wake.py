"""``WakeListener``: hear at once when a job of the shared store becomes free to claim.

Every daemon on a PostgreSQL store listens (``LISTEN uidt_jobs``) on a connection of its own,
an asynchronous one on the daemon's event loop, so waiting for a notification never blocks the
loop nor takes a connection of the store's pool. The store sends one (``pg_notify``, at the
commit) whenever a job becomes free to claim: a host stored a job it may not run (it lacks a
label the job requires), or gave leases back (:mod:`uidt.store.pg_leases`). The listener calls
``on_wake``, and the daemon claims at once (:class:`uidt.daemon.leases.LeaseKeeper.wake`)
instead of at its next periodic look. It also listens on ``uidt_jobs_taken``, sent when such a
free job was claimed (payload: the job), and calls ``on_taken`` with the job: the host that
stored the job without running it forgets its copy at once instead of at its next heartbeat.
And it listens on ``uidt_stops``, sent when a host wrote a stop request (payload: the host
holding the job then, ``""`` for none), and calls ``on_stop`` with it: the holder carries the
request out at once (:meth:`uidt.daemon.fleet.FleetDesk.stop_requested`) instead of at its next
lease tick.

A lost connection (the server restarted, the network failed) is said once in the log and opened
again with a growing pause (:data:`BACKOFF_S`); meanwhile the periodic claim covers, and once
connected again the listener wakes the daemon once, for whatever was freed while it was deaf.
A connection that silently stopped answering (a cut network) is found by the TCP settings the
store's pool uses (``tcp_user_timeout`` and keepalives of a heartbeat period,
:func:`uidt.store.pg_outage.link_options`: about a period), and else by a ``SELECT 1`` after
:attr:`WakeListener.ping_s` without a notification.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from uidt.store.pg_leases import CHANNEL, STOP_CHANNEL, TAKEN_CHANNEL
from uidt.store.pg_outage import link_options
from uidt.store.pg_schema import redact
from uidt.store.postgres import DEFAULT_LEASE_MS

log = logging.getLogger("uidt.daemon")

#: Pauses between attempts to listen again, in seconds (the last one repeats).
BACKOFF_S: tuple[float, ...] = (0.5, 1, 2, 5, 10, 30)
#: Without a notification for this long, check that the connection still answers.
PING_S = 30.0
#: How long connecting, or answering the check, may take.
TIMEOUT_S = 10.0


class WakeListener:
    """Listens for jobs freed anywhere in the store behind ``url`` (see the module doc)."""

    def __init__(
        self,
        url: str,
        *,
        backoff_s: Sequence[float] = BACKOFF_S,
        ping_s: float = PING_S,
        timeout_s: float = TIMEOUT_S,
        lease_ms: int = DEFAULT_LEASE_MS,
    ) -> None:
        self.url, self.lease_ms = url, lease_ms
        self.backoff_s = tuple(backoff_s) or (1.0,)
        self.ping_s, self.timeout_s = ping_s, timeout_s
        #: Listening now (``uidt dumpsys``, tests); notifications heard; connections lost.
        self.listening = False
        self.heard = 0
        self.losses = 0

    async def run(
        self,
        on_wake: Callable[[str], None],
        on_taken: Callable[[str], None] | None = None,
        on_stop: Callable[[str], None] | None = None,
    ) -> None:
        """Listen until cancelled, calling ``on_wake`` with each job freed (and with ``""`` once
        after each (re)connection), ``on_taken`` with each freed job claimed (jobs named
        ``app/[namespace:]id``) and ``on_stop`` with the host each stop request was sent to (and
        with ``""`` once after each (re)connection); a lost connection is opened again (module
        doc)."""
        failures = 0  # attempts since the last connection that listened
        while True:
            try:
                await self._listen(on_wake, on_taken, on_stop)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                if self.listening:  # it was listening: a new loss, said once
                    failures = 0
                self.listening = False
                if failures == 0:
                    self.losses += 1
                    text = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                    log.warning(
                        "job store %s: not listening for freed jobs (%s); trying again, and "
                        "claiming at each heartbeat meanwhile",
                        redact(self.url),
                        text,
                    )
                pause = self.backoff_s[min(failures, len(self.backoff_s) - 1)]
                failures += 1
                await asyncio.sleep(pause)

    async def _listen(
        self,
        on_wake: Callable[[str], None],
        on_taken: Callable[[str], None] | None,
        on_stop: Callable[[str], None] | None,
    ) -> None:
        conn = await asyncio.wait_for(self._connect(), self.timeout_s)
        try:
            await conn.execute(f"LISTEN {CHANNEL}")
            if on_taken is not None:
                await conn.execute(f"LISTEN {TAKEN_CHANNEL}")
            if on_stop is not None:
                await conn.execute(f"LISTEN {STOP_CHANNEL}")
            if self.losses:
                log.info("job store %s: listening for freed jobs again", redact(self.url))
            self.listening = True
            on_wake("")  # whatever was freed before this connection listened
            if on_stop is not None:
                on_stop("")  # and the stop requests written meanwhile
            while True:
                async for notice in conn.notifies(timeout=self.ping_s):
                    self.heard += 1
                    if notice.channel == CHANNEL:
                        on_wake(notice.payload)
                    elif notice.channel == STOP_CHANNEL:
                        if on_stop is not None:
                            on_stop(notice.payload)
                    elif on_taken is not None:
                        on_taken(notice.payload)
                await asyncio.wait_for(conn.execute("SELECT 1"), self.timeout_s)
        finally:
            await conn.close()

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        options: dict[str, Any] = {"autocommit": True, "application_name": "uidt-wake"}
        if "connect_timeout" not in self.url:
            options["connect_timeout"] = int(self.timeout_s)
        options.update(link_options(self.url, self.lease_ms))  # as the pool's connections
        return await psycopg.AsyncConnection.connect(self.url, **options)

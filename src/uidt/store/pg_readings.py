"""This host's device readings in the shared PostgreSQL store: each host has its own device.

Mixed into :class:`~uidt.store.postgres.PostgresJobStore`, which supplies the transaction
runner, the host id and the URL. Every row names its host; pruning (the store contract's, in
:mod:`uidt.store.base`) keeps each host's window apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from uidt.device.history import BadReadingError, DeviceReading
from uidt.store import codec
from uidt.store.pg_schema import redact

_Conn = psycopg.Connection[Any]


class ReadingsMixin:
    """The device-readings part of the store contract, per host (see the module doc)."""

    host_id: str
    url: str

    def _run(self, what: str, fn: Callable[[_Conn], Any]) -> Any:  # pragma: no cover
        raise NotImplementedError

    def add_device_readings(
        self, readings: Sequence[DeviceReading], keep_since_utc_ms: int, keep_at_most: int
    ) -> None:
        self._run(
            "add_device_readings",
            lambda conn: self._add_readings(conn, readings, keep_since_utc_ms, keep_at_most),
        )

    def _add_readings(
        self,
        conn: psycopg.Connection[Any],
        readings: Sequence[DeviceReading],
        keep_since_utc_ms: int,
        keep_at_most: int,
    ) -> None:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO uidt_device_readings (host_id, at_utc_ms, reading) "
                "VALUES (%s, %s, %s)",
                [
                    (self.host_id, r.at_utc_ms, json.dumps(r.to_dict(), sort_keys=True))
                    for r in readings
                ],
            )
        mine = {"me": self.host_id}
        # by age, keeping the newest older one (the state at the window's start) ...
        conn.execute(
            "DELETE FROM uidt_device_readings WHERE host_id = %(me)s AND id < "
            "(SELECT max(id) FROM uidt_device_readings "
            "WHERE host_id = %(me)s AND at_utc_ms < %(since)s)",
            {**mine, "since": keep_since_utc_ms},
        )
        # ... then by count
        conn.execute(
            "DELETE FROM uidt_device_readings WHERE host_id = %(me)s AND id <= "
            "(SELECT id FROM uidt_device_readings WHERE host_id = %(me)s "
            "ORDER BY id DESC LIMIT 1 OFFSET %(most)s)",
            {**mine, "most": max(0, keep_at_most)},
        )

    def device_readings(self) -> list[DeviceReading]:
        rows = self._run(
            "device_readings",
            lambda c: c.execute(
                "SELECT reading FROM uidt_device_readings WHERE host_id = %s ORDER BY id",
                (self.host_id,),
            ).fetchall(),
        )
        with codec.unreadable(redact(self.url), "device reading", (BadReadingError, ValueError)):
            return [DeviceReading.from_dict(json.loads(row[0])) for row in rows]

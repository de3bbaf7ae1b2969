"""Each host's own notifications in the shared PostgreSQL store (schema version 4).

Mixed into :class:`~uidt.store.postgres.PostgresJobStore`, which supplies the transaction runner
and the store's URL. Every row names the host that shows the notification (``host_id``, part of
the key): a host writes, removes and loads back only its own, so a restarted daemon brings back
its own detached notifications and not every host's; two hosts may show the same app's
notification id at once. Rows from before version 4 belong to no host (``''``): the first host
to load its notifications takes them over. Removing an app removes its notifications on every
host (:meth:`PostgresJobStore.remove_app`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from uidt.store import codec
from uidt.store.pg_schema import redact
from uidt.store.record import NotificationRecord

_Conn = psycopg.Connection[Any]


class NotificationsMixin:
    """The notification part of the store contract, per host (see the module doc)."""

    host_id: str
    url: str

    def _run(self, what: str, fn: Callable[[_Conn], Any]) -> Any:  # pragma: no cover
        raise NotImplementedError

    def put_notification(self, record: NotificationRecord) -> None:
        self._run("put_notification", lambda conn: self._put_notification(conn, record))

    def _put_notification(self, conn: _Conn, record: NotificationRecord) -> None:
        conn.execute(
            "INSERT INTO uidt_notifications (host_id, app, notification_id, record) "
            "VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (host_id, app, notification_id) DO UPDATE SET record = EXCLUDED.record",
            (
                self.host_id,
                record.app,
                record.notification_id,
                codec.notification_record_to_json(record),
            ),
        )

    def remove_notification(self, app: str, notification_id: int) -> bool:
        return bool(
            self._run(
                "remove_notification",
                lambda conn: self._remove_notification(conn, app, notification_id),
            )
        )

    def _remove_notification(self, conn: _Conn, app: str, notification_id: int) -> bool:
        done = conn.execute(
            "DELETE FROM uidt_notifications "
            "WHERE host_id = %s AND app = %s AND notification_id = %s",
            (self.host_id, app, notification_id),
        )
        return done.rowcount > 0

    def load_notifications(self) -> list[NotificationRecord]:
        """This host's own notifications (each host shows its own). Rows from before schema
        version 4 belong to no host: the first host to load takes them over."""
        return self._notifications_of_mine(adopt_unowned=True)

    def notifications(self) -> list[NotificationRecord]:
        """This host's notifications (what it put and did not remove)."""
        return self._notifications_of_mine(adopt_unowned=False)

    def _notifications_of_mine(self, *, adopt_unowned: bool) -> list[NotificationRecord]:
        def read(conn: _Conn) -> list[Any]:
            if adopt_unowned:
                conn.execute(
                    "UPDATE uidt_notifications SET host_id = %s WHERE host_id = '' "
                    "AND (app, notification_id) NOT IN (SELECT app, notification_id "
                    "FROM uidt_notifications WHERE host_id = %s)",
                    (self.host_id, self.host_id),
                )
            rows: list[Any] = conn.execute(
                "SELECT record FROM uidt_notifications WHERE host_id = %s "
                "ORDER BY app, notification_id",
                (self.host_id,),
            ).fetchall()
            return rows

        rows = self._run("notifications", read)
        return [self._decode_notification(row[0]) for row in rows]

    def _decode_notification(self, text: str) -> NotificationRecord:
        with codec.unreadable(redact(self.url), "notification"):
            return codec.notification_record_from_json(text)

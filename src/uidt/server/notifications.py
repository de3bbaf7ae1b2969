"""The notification coordinator (reference §3.5): which job shows which notification, end policies."""

from __future__ import annotations

from collections import defaultdict

from uidt.errors import InvalidJobError
from uidt.job.notification import EndPolicy, Notification
from uidt.job.reasons import StopReason
from uidt.redact import redact
from uidt.server.actions import Action, PostNotification, RemoveNotification
from uidt.server.context import JobServiceContext
from uidt.store.record import NotificationRecord

NotificationKey = tuple[str, int]
#: Stops that take the notification down whatever the end policy: the user's (Task Manager,
#: force stop) and background restriction (Android's CTS checks both).
_REMOVING_STOPS = frozenset({StopReason.USER, StopReason.BACKGROUND_RESTRICTION})


def _redacted(shown: dict[str, object]) -> dict[str, object]:
    """The notification with any password in a URL in its title or text masked (see redact)."""
    for field in ("title", "text"):
        value = shown.get(field)
        if isinstance(value, str):
            shown[field] = redact(value)
    return shown


class NotificationCoordinator:
    """Tracks the notifications of running jobs and what happens to them when jobs end."""

    def __init__(self) -> None:
        self.shown: dict[NotificationKey, NotificationRecord] = {}
        self._users: defaultdict[NotificationKey, dict[int, JobServiceContext]] = defaultdict(dict)

    def set_notification(
        self,
        ctx: JobServiceContext,
        notification_id: int,
        notification: Notification,
        end_policy: EndPolicy | int,
        channels: frozenset[str],
        utc_ms: int,
    ) -> list[Action]:
        """``JobService.set_notification``: validate, attach to the run, post.

        Raises:
            InvalidJobError: undeclared channel or an end policy other than DETACH/REMOVE.
        """
        if not isinstance(notification, Notification):
            raise InvalidJobError("notification must be a Notification")
        if notification.channel_id not in channels:
            raise InvalidJobError(f"invalid notification channel: {notification.channel_id!r}")
        try:
            policy = EndPolicy(end_policy)
        except ValueError:
            raise InvalidJobError("invalid job end notification policy") from None
        actions: list[Action] = []
        if ctx.notification_id is not None and ctx.notification_id != notification_id:
            actions += self._detach(ctx, StopReason.UNDEFINED, utc_ms)
        app = ctx.app
        key = (app, notification_id)
        ctx.notification_id = notification_id
        ctx.end_policy = policy
        ctx.awaiting_notification = False
        self._users[key][ctx.run_id] = ctx
        record = NotificationRecord(
            app=app,
            notification_id=notification_id,
            notification=_redacted(notification.to_dict()),
            job=ctx.status.key,
            user_initiated_job=any(c.user_visible for c in self._users[key].values()),
            updated_utc_ms=utc_ms,
        )
        self.shown[key] = record
        actions.append(PostNotification(record))
        return actions

    def job_ended(
        self, ctx: JobServiceContext, stop_reason: StopReason, utc_ms: int
    ) -> list[Action]:
        """The run ended with ``stop_reason``: apply the end policy of the last job using the id."""
        if ctx.notification_id is None:
            return []
        return self._detach(ctx, stop_reason, utc_ms)

    def remove_app(self, app: str) -> list[Action]:
        """Take down every notification of an app (uninstall)."""
        actions: list[Action] = []
        for key in [k for k in self.shown if k[0] == app]:
            del self.shown[key]
            self._users.pop(key, None)
            actions.append(RemoveNotification(app, key[1]))
        return actions

    def _detach(self, ctx: JobServiceContext, stop_reason: StopReason, utc_ms: int) -> list[Action]:
        assert ctx.notification_id is not None
        key = (ctx.app, ctx.notification_id)
        users = self._users.get(key, {})
        users.pop(ctx.run_id, None)
        ctx.notification_id = None
        record = self.shown.get(key)
        if record is None:
            return []
        if users:
            uij = any(c.user_visible for c in users.values())
            if uij == record.user_initiated_job:
                return []
            return [self._repost(key, record, uij, record.job, utc_ms)]
        self._users.pop(key, None)
        if ctx.end_policy is EndPolicy.REMOVE or stop_reason in _REMOVING_STOPS:
            del self.shown[key]
            return [RemoveNotification(key[0], key[1])]
        return [self._repost(key, record, False, None, utc_ms)]

    def _repost(
        self,
        key: NotificationKey,
        record: NotificationRecord,
        uij: bool,
        job: object,
        utc_ms: int,
    ) -> PostNotification:
        new = NotificationRecord(
            app=record.app,
            notification_id=record.notification_id,
            notification=record.notification,
            job=record.job if job is not None else None,
            user_initiated_job=uij,
            updated_utc_ms=utc_ms,
        )
        self.shown[key] = new
        return PostNotification(new)

"""The notification coordinator: which job shows which notification, end policies, and the app's
own NotificationManager calls with Android's protections of a user-initiated job's notification
(``JobNotificationCoordinator`` and ``NotificationManagerService``; docs/android-semantics.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from uidt.errors import InvalidJobError, JobPermissionError
from uidt.job.key import JobKey
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


def _view(record: NotificationRecord | None) -> dict[str, Any] | None:
    """A job record's ``notification`` field: id, title, text, progress and actions."""
    if record is None:
        return None
    n = record.notification
    return {
        "id": record.notification_id,
        "title": n["title"],
        "text": n["text"],
        "progress": n["progress"],
        "actions": list(n.get("actions", [])),
    }


class NotificationCoordinator:
    """Tracks the notifications of running jobs and what happens to them when jobs end.

    A notification a run leaves posted (DETACH) stays the job's while the job waits for its next
    run (``JobNotificationCoordinator`` keeps it posted; here the job's record also shows it,
    :meth:`left_by`): "retrying: <reason>" says why the job waits. The tie ends when a run (of
    this job or another) takes the notification id, the app cancels it, or the job goes.
    """

    def __init__(self) -> None:
        self.shown: dict[NotificationKey, NotificationRecord] = {}
        self._users: defaultdict[NotificationKey, dict[int, JobServiceContext]] = defaultdict(dict)
        #: The job whose last run left each detached notification, and the reverse.
        self._left: dict[NotificationKey, JobKey] = {}
        self._left_of: dict[JobKey, NotificationKey] = {}

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
            actions += self._detach(ctx, StopReason.UNDEFINED, utc_ms, tie=False)
        app = ctx.app
        key = (app, notification_id)
        self._untie(key)  # a run owns it now: no waiting job shows it
        self._untie_job(ctx.status.key)  # the job's run shows its own (shown_of)
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

    # -- the app's NotificationManager ----------------------------------------------------------

    def post_for_app(
        self,
        app: str,
        notification_id: int,
        notification: Notification,
        channels: frozenset[str],
        utc_ms: int,
    ) -> list[Action]:
        """``NotificationManager.notify``: post or update; a running job keeps its notification.

        Raises:
            InvalidJobError: not a notification, or its channel is not one of ``channels``.
        """
        if not isinstance(notification, Notification):
            raise InvalidJobError("notification must be a Notification")
        if notification.channel_id not in channels:
            raise InvalidJobError(f"invalid notification channel: {notification.channel_id!r}")
        key = (app, notification_id)
        users = self._users.get(key) or {}
        job = next(iter(users.values())).status.key if users else None
        record = NotificationRecord(
            app=app,
            notification_id=notification_id,
            notification=_redacted(notification.to_dict()),
            job=job,
            user_initiated_job=any(c.user_visible for c in users.values()),
            updated_utc_ms=utc_ms,
        )
        self.shown[key] = record
        return [PostNotification(record)]

    def cancel_for_app(self, app: str, notification_id: int) -> tuple[bool, list[Action]]:
        """``NotificationManager.cancel``: ``(removed, actions)``.

        A notification a running user-initiated job uses stays (Android ignores the app's cancel
        of it); a regular job's is removed (the job may post it again).
        """
        key = (app, notification_id)
        if key not in self.shown or self._used_by_uij(key):
            return False, []
        del self.shown[key]
        self._untie(key)
        return True, [RemoveNotification(app, notification_id)]

    def restore(self, records: Iterable[NotificationRecord]) -> list[Action]:
        """The notifications a restarted daemon finds in its store.

        A restart of the daemon is not a reboot of the user's desktop (on Android notifications
        do not outlive a reboot; here the desktop session goes on): a notification no running job
        owns any more (detached at its job's end, "Download X complete", or posted by the app) is
        shown again as it was. One that a run owned when the old daemon died belongs to a run
        that is over: its progress is no longer true, so it is taken down; the job, if persisted,
        posts it again within the notification timeout of its next start.
        """
        actions: list[Action] = []
        for record in records:
            key = (record.app, record.notification_id)
            if record.job is None:
                self.shown[key] = record
            else:
                actions.append(RemoveNotification(record.app, record.notification_id))
        return actions

    def shown_of(self, ctx: JobServiceContext | None) -> dict[str, Any] | None:
        """What a run's notification shows now: id, title, text, progress and actions (``None``
        without a run or a notification)."""
        if ctx is None or ctx.notification_id is None:
            return None
        return _view(self.shown.get((ctx.app, ctx.notification_id)))

    def left_by(self, job: JobKey) -> dict[str, Any] | None:
        """What the notification ``job``'s last run left posted shows now (the fields of
        :meth:`shown_of`), ``None`` when it left none or it is no longer the job's."""
        key = self._left_of.get(job)
        return None if key is None else _view(self.shown.get(key))

    def job_gone(self, job: JobKey, *, take_down: bool) -> list[Action]:
        """``job`` leaves the scheduler: it no longer shows the notification its last run left.

        With ``take_down`` (the job is cancelled between runs) that notification goes too: it
        speaks for a wait ("retrying: …", a Cancel button) that is over, and no app code runs
        to update it.
        """
        key = self._left_of.get(job)
        if key is None:
            return []
        self._untie(key)
        if not take_down or self.shown.pop(key, None) is None:
            return []
        return [RemoveNotification(key[0], key[1])]

    def active(self, app: str) -> list[NotificationRecord]:
        """``getActiveNotifications``: what the app's notifications show now, by id."""
        return [r for (owner, _), r in sorted(self.shown.items()) if owner == app]

    def uij_channels(self, app: str) -> frozenset[str]:
        """The channels of the app's notifications that running user-initiated jobs use."""
        return frozenset(
            str(record.notification.get("channel_id"))
            for key, record in self.shown.items()
            if key[0] == app and self._used_by_uij(key)
        )

    def channel_used_by_uij(self, app: str, channel_id: str) -> bool:
        """A running user-initiated job of ``app`` shows a notification on ``channel_id``."""
        return channel_id in self.uij_channels(app)

    def check_channel_deletable(self, app: str, channel_id: str) -> None:
        """``deleteNotificationChannel`` is allowed (Android throws SecurityException otherwise).

        Raises:
            JobPermissionError: a running user-initiated job uses the channel.
        """
        if self.channel_used_by_uij(app, channel_id):
            raise JobPermissionError(
                f"notification channel {channel_id!r} cannot be deleted: a running "
                "user-initiated job uses it"
            )

    def _used_by_uij(self, key: NotificationKey) -> bool:
        return any(c.user_visible for c in self._users.get(key, {}).values())

    # -- job ends -------------------------------------------------------------------------------

    def job_ended(
        self, ctx: JobServiceContext, stop_reason: StopReason, utc_ms: int, *, tie: bool = True
    ) -> list[Action]:
        """The run ended with ``stop_reason``: apply the end policy of the last job using the id.

        ``tie``: the run's job is still scheduled, so a notification left posted stays its
        (:meth:`left_by`); not for a job cancelled or replaced while it ran.
        """
        if ctx.notification_id is None:
            return []
        return self._detach(ctx, stop_reason, utc_ms, tie=tie)

    def remove_app(self, app: str) -> list[Action]:
        """Take down every notification of an app (uninstall)."""
        actions: list[Action] = []
        for key in [k for k in self.shown if k[0] == app]:
            del self.shown[key]
            self._users.pop(key, None)
            self._untie(key)
            actions.append(RemoveNotification(app, key[1]))
        return actions

    def _detach(
        self, ctx: JobServiceContext, stop_reason: StopReason, utc_ms: int, *, tie: bool
    ) -> list[Action]:
        assert ctx.notification_id is not None
        key = (ctx.app, ctx.notification_id)
        users = self._users.get(key, {})
        users.pop(ctx.run_id, None)
        ctx.notification_id = None
        record = self.shown.get(key)
        if record is None:  # the app cancelled it (a regular job's)
            if not users:
                self._users.pop(key, None)
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
        if tie:
            self._untie_job(ctx.status.key)
            self._left[key] = ctx.status.key
            self._left_of[ctx.status.key] = key
        return [self._repost(key, record, False, None, utc_ms)]

    def _untie(self, key: NotificationKey) -> None:
        job = self._left.pop(key, None)
        if job is not None:
            del self._left_of[job]

    def _untie_job(self, job: JobKey) -> None:
        key = self._left_of.pop(job, None)
        if key is not None:
            del self._left[key]

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

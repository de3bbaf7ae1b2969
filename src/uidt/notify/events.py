"""What a notification sink receives, and the sink protocol.

The daemon's runtime calls every sink in ``runtime.notification_sinks`` with either
``("post", NotificationRecord)`` or ``("remove", (app, notification_id))``. The core has already
applied the end policies (DETACH keeps the notification but posts it again without the
user-initiated-job flag; REMOVE and a USER stop remove it), so a sink only shows what it is told.

:func:`parse_event` turns the raw pair into a typed :class:`Posted` or :class:`Removed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from uidt.errors import ProtocolError
from uidt.store.record import NotificationRecord

#: A notification's identity: (app package, notification id chosen by the app).
NotificationKey = tuple[str, int]

#: The raw payload the runtime hands to a sink.
RawPayload = NotificationRecord | tuple[str, int]


class NotificationSink(Protocol):
    """Anything the runtime can hand notifications to (``runtime.notification_sinks``).

    Sinks are called synchronously on the daemon's event loop; they must return quickly and
    never raise (do I/O in a task of their own).
    """

    def __call__(self, kind: str, payload: RawPayload, /) -> None:
        """Receive ``("post", NotificationRecord)`` or ``("remove", (app, notification_id))``."""
        ...


@dataclass(frozen=True, slots=True)
class NotificationAction:
    """A button on a posted notification."""

    action_id: str
    title: str


@dataclass(frozen=True, slots=True)
class Posted:
    """A notification to show, or to replace in place when its key is already shown.

    Attributes:
        app: the app package.
        notification_id: the id the app gave it (unique per app).
        title: the first line.
        text: the second line.
        progress: fraction done in ``[0, 1]``, or ``None`` for no bar.
        ongoing: the user cannot dismiss it while its job runs.
        actions: buttons; a click comes back as a user-interaction grant for the app.
        user_initiated_job: it belongs to a running user-initiated job (Android's
            ``FLAG_USER_INITIATED_JOB``); ``False`` once detached.
    """

    app: str
    notification_id: int
    title: str
    text: str
    progress: float | None
    ongoing: bool
    actions: tuple[NotificationAction, ...]
    user_initiated_job: bool

    @property
    def key(self) -> NotificationKey:
        """The notification's identity."""
        return (self.app, self.notification_id)

    @classmethod
    def from_record(cls, record: NotificationRecord) -> Posted:
        """Build from the store record the runtime posts (``notification`` is ``Notification.to_dict()``)."""
        data: dict[str, Any] = record.notification
        progress = data.get("progress")
        return cls(
            app=record.app,
            notification_id=record.notification_id,
            title=str(data.get("title", "")),
            text=str(data.get("text", "") or ""),
            progress=None if progress is None else min(1.0, max(0.0, float(progress))),
            ongoing=bool(data.get("ongoing", True)) and record.user_initiated_job,
            actions=tuple(
                NotificationAction(str(action_id), str(title))
                for action_id, title in data.get("actions", ())
            ),
            user_initiated_job=record.user_initiated_job,
        )


@dataclass(frozen=True, slots=True)
class Removed:
    """A notification to take down."""

    app: str
    notification_id: int

    @property
    def key(self) -> NotificationKey:
        """The notification's identity."""
        return (self.app, self.notification_id)


NotificationEvent = Posted | Removed


def parse_event(kind: str, payload: RawPayload) -> NotificationEvent:
    """Turn the runtime's ``(kind, payload)`` pair into a typed event.

    Raises:
        ProtocolError: the pair is neither a post of a record nor a remove of ``(app, id)``.
    """
    if kind == "post" and isinstance(payload, NotificationRecord):
        return Posted.from_record(payload)
    if kind == "remove" and isinstance(payload, tuple) and len(payload) == 2:
        app, notification_id = payload
        return Removed(str(app), int(notification_id))
    raise ProtocolError(f"unknown notification event {kind!r} with {type(payload).__name__}")

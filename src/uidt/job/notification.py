"""``Notification``: what a user-initiated job shows while it runs, and the end policies."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from enum import IntEnum
from typing import Any

from uidt.errors import InvalidJobError


class EndPolicy(IntEnum):
    """``JobService.JOB_END_NOTIFICATION_POLICY_*``: what happens to the notification when the job ends."""

    DETACH = 0
    REMOVE = 1


@dataclass(frozen=True, slots=True)
class NotificationAction:
    """A button on the notification; a click comes back as a user-interaction grant for the app."""

    action_id: str
    title: str


@dataclass(frozen=True, slots=True)
class Notification:
    """A job's notification.

    Args:
        channel_id: a channel declared in the app's manifest.
        title: the first line.
        text: the second line.
        progress: fraction done in ``[0, 1]``, or ``None`` for no (or an indeterminate) bar.
        ongoing: the user cannot dismiss it while the job runs.
        actions: buttons.
    """

    channel_id: str
    title: str
    text: str = ""
    _: KW_ONLY
    progress: float | None = None
    ongoing: bool = True
    actions: tuple[NotificationAction, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.channel_id, str) or not self.channel_id:
            raise InvalidJobError("invalid notification channel: a channel id is required")
        if not isinstance(self.title, str):
            raise InvalidJobError("notification title must be a string")
        if not isinstance(self.text, str):
            raise InvalidJobError("notification text must be a string")
        if self.progress is not None and (
            isinstance(self.progress, bool)
            or not isinstance(self.progress, int | float)
            or not 0.0 <= float(self.progress) <= 1.0
        ):
            raise InvalidJobError(f"notification progress must be in [0, 1], not {self.progress!r}")
        object.__setattr__(self, "actions", tuple(self.actions))

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel_id": self.channel_id,
            "title": self.title,
            "text": self.text,
            "progress": self.progress,
            "ongoing": self.ongoing,
            "actions": [[a.action_id, a.title] for a in self.actions],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Notification:
        try:
            return cls(
                channel_id=data["channel_id"],
                title=data["title"],
                text=data.get("text", ""),
                progress=data.get("progress"),
                ongoing=bool(data.get("ongoing", True)),
                actions=tuple(
                    NotificationAction(str(i), str(t)) for i, t in data.get("actions", ())
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InvalidJobError):
                raise
            raise InvalidJobError(f"malformed notification: {exc}") from exc

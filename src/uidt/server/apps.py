"""What the core knows about installed apps and about the caller of ``schedule()``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

RUN_USER_INITIATED_JOBS = "RUN_USER_INITIATED_JOBS"
RECEIVE_BOOT_COMPLETED = "RECEIVE_BOOT_COMPLETED"
BIND_JOB_SERVICE = "BIND_JOB_SERVICE"
START_FROM_BACKGROUND = "START_FROM_BACKGROUND"
#: The app-op the user revokes to restrict an app's background activity (``uidt apps restrict``):
#: allowed unless revoked, never declared.
RUN_ANY_IN_BACKGROUND = "RUN_ANY_IN_BACKGROUND"


@dataclass(frozen=True)
class AppInfo:
    """An installed app as the scheduler sees it.

    Attributes:
        package: the app's package name.
        services: declared services, ``"module:Class"`` → guarding permission (or ``None``).
        permissions: declared uses-permissions.
        channels: declared notification channel ids.
        revoked: app-ops the user revoked (e.g. ``RUN_USER_INITIATED_JOBS``).
        granted: grants the user gave (e.g. ``START_FROM_BACKGROUND``).
    """

    package: str
    services: Mapping[str, str | None] = field(default_factory=dict)
    permissions: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    revoked: frozenset[str] = frozenset()
    granted: frozenset[str] = frozenset()

    def holds(self, permission: str) -> bool:
        """Declared and not revoked (Android's permission + app-op preflight)."""
        return permission in self.permissions and permission not in self.revoked

    @property
    def background_restricted(self) -> bool:
        """The user revoked RUN_ANY_IN_BACKGROUND (Android's ``AppStateTracker``
        ``isRunAnyInBackgroundAppOpsAllowed`` is false)."""
        return RUN_ANY_IN_BACKGROUND in self.revoked


@dataclass(frozen=True)
class Caller:
    """Who calls ``schedule()``.

    Attributes:
        app: the calling app's package.
        visible: the scheduling process is visible right now (Android's TOP).
        interaction_grant: the request carries a click grant (notification action / Task Manager).
    """

    app: str
    visible: bool
    interaction_grant: bool = False

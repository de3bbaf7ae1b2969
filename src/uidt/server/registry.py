"""``AppRegistry``: the installed apps and what the user did with them (visible, stopped).

It owns the app facts evaluation reads: which apps are installed (and their grants), which are
visible (Android's TOP) and when they last were (for the background-start grace period), and which
the user stopped in the Task Manager.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from types import MappingProxyType

from uidt.server.apps import RUN_USER_INITIATED_JOBS, START_FROM_BACKGROUND, AppInfo


class AppRegistry:
    """Installed apps, their visibility and their Task Manager stops."""

    def __init__(self, apps: Mapping[str, AppInfo] | None, *, visible_grace_ms: int) -> None:
        self._apps: dict[str, AppInfo] = dict(apps or {})
        self._visible: set[str] = set()
        self._last_visible: dict[str, int] = {}
        self._user_stopped: set[str] = set()
        self._grace_ms = visible_grace_ms
        #: A read-only view of the installed apps by package.
        self.apps: Mapping[str, AppInfo] = MappingProxyType(self._apps)

    def __contains__(self, package: object) -> bool:
        return package in self._apps

    def __iter__(self) -> Iterator[str]:
        return iter(self._apps)

    def get(self, package: str) -> AppInfo | None:
        """The installed app, if any."""
        return self._apps.get(package)

    def install(self, info: AppInfo) -> None:
        """Install or update an app."""
        self._apps[info.package] = info

    def uninstall(self, package: str) -> None:
        """Forget an app (nothing happens when it is not installed)."""
        self._apps.pop(package, None)

    def can_run_user_initiated_jobs(self, app: str) -> bool:
        """The app declares RUN_USER_INITIATED_JOBS and the user did not revoke it."""
        info = self._apps.get(app)
        return info is not None and info.holds(RUN_USER_INITIATED_JOBS)

    def may_start_from_background(self, app: str) -> bool:
        """The user granted the app START_FROM_BACKGROUND."""
        info = self._apps.get(app)
        return info is not None and START_FROM_BACKGROUND in info.granted

    def is_background_restricted(self, app: str) -> bool:
        """The user restricted the app's background activity (``uidt apps restrict``)."""
        info = self._apps.get(app)
        return info is not None and info.background_restricted

    # -- visibility and user stops ------------------------------------------------------------

    def is_visible(self, app: str) -> bool:
        """The app is visible (TOP) right now."""
        return app in self._visible

    def set_visible(self, app: str, visible: bool, now: int) -> bool:
        """The app became visible or stopped being so; ``False`` when nothing changed.

        Becoming visible lifts a Task Manager stop; the grace period runs from the last change.
        """
        if visible:
            self._visible.add(app)
            self._user_stopped.discard(app)
        elif app in self._visible:
            self._visible.discard(app)
        else:
            return False
        self._last_visible[app] = now
        return True

    def note_user_interaction(self, app: str, now: int) -> None:
        """The app scheduled while visible or with a click grant: a fresh grace period."""
        self._last_visible[app] = now
        self._user_stopped.discard(app)

    def has_bal_privilege(self, app: str, now: int) -> bool:
        """Visible, or within the visible grace period (transient background-start privilege)."""
        if app in self._visible:
            return True
        last = self._last_visible.get(app)
        return last is not None and now - last <= self._grace_ms

    def stop_by_user(self, app: str) -> None:
        """The Task Manager's Stop: the app's jobs are held until it is visible again."""
        self._user_stopped.add(app)

    def is_user_stopped(self, app: str) -> bool:
        """The user stopped the app and it was not visible since."""
        return app in self._user_stopped

    def visible(self) -> Set[str]:
        """Visible apps (a read-only view)."""
        return self._visible

    def user_stopped(self) -> Set[str]:
        """Apps the user stopped (a read-only view)."""
        return self._user_stopped

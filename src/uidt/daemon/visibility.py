"""Is an app visible to the user right now? (Android's ``PROCESS_STATE_TOP`` and BAL grants.)

An app is visible while one of its processes holds an *activity* (``JobScheduler.activity()``,
a GUI window shown), and while a process that scheduled from the foreground process group of
its terminal lives (:meth:`Visibility.hold_while_alive`: a command typed in a shell). A click on
one of its notification actions grants it a short user-interaction window.
Each change is reported to the scheduler core through ``note_visible(app, visible)``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable

from uidt.clock import Clock
from uidt.daemon.peer import is_foreground, pid_alive


class Visibility:
    """Activities (tied to the process that opened them) and interaction grants."""

    def __init__(
        self,
        *,
        clock: Clock,
        grace_ms: int,
        note_visible: Callable[[str, bool], None],
        changed: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._grace_ms = grace_ms
        self._note_visible = note_visible
        self._changed = changed
        self._activities: dict[str, tuple[str, int | None]] = {}
        #: pidfds watching the processes that opened activities (token -> fd).
        self._watches: dict[str, int] = {}
        #: Apps with a user-interaction grant until this elapsed time.
        self._grants: dict[str, int] = {}

    # -- grants --------------------------------------------------------------------------------

    def grant(self, app: str) -> None:
        """The user just interacted with the app (a click): it may start UIJs for a while."""
        self._grants[app] = self._clock.elapsed() + self._grace_ms

    def has_grant(self, app: str) -> bool:
        until = self._grants.get(app)
        return until is not None and self._clock.elapsed() <= until

    # -- visibility ----------------------------------------------------------------------------

    def is_visible(self, app: str, peer_pid: int | None) -> bool:
        """Whether ``app`` is visible for a request from ``peer_pid``."""
        self._expire()
        if self._holds_activity(app):
            return True
        return peer_pid is not None and is_foreground(peer_pid)

    def _holds_activity(self, app: str) -> bool:
        return any(a == app for a, _ in self._activities.values())

    def _expire(self) -> None:
        for token, (app, pid) in list(self._activities.items()):
            if pid is not None and not pid_alive(pid):
                del self._activities[token]
                self._unwatch(token)
                self._note_visible(app, self._holds_activity(app))

    def note_request(self, app: str, peer_pid: int | None) -> bool:
        """Whether ``app`` is visible for a request from ``peer_pid``; a peer in the foreground
        of its terminal keeps it visible while it lives (:meth:`hold_while_alive`)."""
        self._expire()
        if peer_pid is not None and is_foreground(peer_pid):
            self.hold_while_alive(app, peer_pid)
            return True
        return self._holds_activity(app)

    def hold_while_alive(self, app: str, pid: int) -> None:
        """``pid`` scheduled for ``app`` from the foreground of its terminal: the app is visible
        until that process exits (one hold per process), not for good.

        Whether it stays in the foreground cannot be watched, its end can (as an activity's).
        """
        if any(a == app and p == pid for a, p in self._activities.values()):
            return
        self.open(app, pid)

    def open(self, app: str, pid: int | None) -> str:
        """Open an activity for ``app`` on behalf of process ``pid``; returns its token."""
        token = secrets.token_hex(8)
        self._activities[token] = (app, pid)
        if pid is not None:
            self._watch_exit(token, pid)
        self._note_visible(app, True)
        return token

    def close(self, app: str, token: str) -> bool:
        """Close an activity; ``False`` if the token is not one of ``app``'s."""
        if self._activities.get(token, ("",))[0] != app:
            return False
        del self._activities[token]
        self._unwatch(token)
        self._note_visible(app, self._holds_activity(app))
        return True

    def _watch_exit(self, token: str, pid: int) -> None:
        """End the activity the moment its process exits, not at the app's next request.

        Otherwise a window that died long ago would stay visible until the next ``schedule()``,
        and the visible grace would only start then.
        """
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):  # no pidfds (or already gone): _expire() handles it
            return
        self._watches[token] = fd
        asyncio.get_running_loop().add_reader(fd, self._process_exited, token)

    def _unwatch(self, token: str) -> None:
        fd = self._watches.pop(token, None)
        if fd is not None:
            asyncio.get_running_loop().remove_reader(fd)
            os.close(fd)

    def _process_exited(self, token: str) -> None:
        self._unwatch(token)
        entry = self._activities.pop(token, None)
        if entry is not None:
            self._note_visible(entry[0], self._holds_activity(entry[0]))
            self._changed()

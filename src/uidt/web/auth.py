"""Who may use the Task Manager page.

* The daemon holds a random secret (``token``). ``login_url()`` mints a **one-time** login code,
  valid for a few minutes; ``GET /login?token=CODE`` consumes it, opens a session and sets the
  session cookie (``HttpOnly; SameSite=Strict; Path=/``). A code cannot be used twice.
* Every other request needs a live session cookie, else 401.
* State-changing requests are POST only and must also carry the session's CSRF token, either in
  the ``X-CSRF-Token`` header (the page's script) or in a ``csrf`` form field (plain forms). The
  CSRF token is an HMAC of the session id under the daemon secret, so it is never stored.
* Requests whose ``Host`` is not a loopback name are refused (DNS-rebinding defence), and a POST
  whose ``Origin`` is not the page's own is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict

from uidt.clock import Clock, SystemClock

COOKIE_NAME = "uidt_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"

#: A login link is good for this long.
LOGIN_CODE_TTL_MS = 5 * 60 * 1000
#: At most this many unused login links exist at once (the oldest is dropped).
MAX_LOGIN_CODES = 16
#: At most this many sessions exist at once (the oldest is dropped).
MAX_SESSIONS = 64

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def new_token() -> str:
    """A fresh per-daemon secret."""
    return secrets.token_urlsafe(32)


def host_name(host_header: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8080`` → ``::1``, ``a:1`` → ``a``)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class WebAuth:
    """Login codes, sessions and CSRF tokens for one daemon.

    Args:
        token: the daemon's secret (see :func:`new_token`).
        clock: time source for code expiry.
    """

    def __init__(self, token: str, clock: Clock | None = None) -> None:
        if len(token) < 16:
            raise ValueError("the web token must be at least 16 characters")
        self._key = token.encode()
        self._clock = clock or SystemClock()
        self._codes: OrderedDict[str, int] = OrderedDict()
        self._sessions: OrderedDict[str, int] = OrderedDict()

    # -- login ---------------------------------------------------------------------------------

    def new_login_code(self) -> str:
        """Mint a one-time login code (for ``/login?token=CODE``)."""
        code = secrets.token_urlsafe(24)
        self._codes[code] = self._clock.elapsed() + LOGIN_CODE_TTL_MS
        while len(self._codes) > MAX_LOGIN_CODES:
            self._codes.popitem(last=False)
        return code

    def redeem(self, code: str) -> str | None:
        """Consume a login code; return a new session id, or ``None`` if the code is not valid."""
        expires = None
        for known in list(self._codes):
            if hmac.compare_digest(known.encode(), code.encode()):
                expires = self._codes.pop(known)
                break
        if expires is None or self._clock.elapsed() > expires:
            return None
        session = secrets.token_urlsafe(32)
        self._sessions[session] = self._clock.elapsed()
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return session

    # -- requests ------------------------------------------------------------------------------

    def valid_session(self, session: str | None) -> bool:
        """Whether a cookie value names a live session."""
        return bool(session) and session in self._sessions

    def csrf_token(self, session: str) -> str:
        """The CSRF token of a session."""
        return hmac.new(self._key, b"csrf:" + session.encode(), hashlib.sha256).hexdigest()

    def valid_csrf(self, session: str, presented: str | None) -> bool:
        """Whether ``presented`` is the session's CSRF token."""
        return bool(presented) and hmac.compare_digest(
            self.csrf_token(session).encode(), (presented or "").encode()
        )

    def end_session(self, session: str) -> None:
        """Log a session out."""
        self._sessions.pop(session, None)

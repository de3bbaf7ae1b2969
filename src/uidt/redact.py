"""Keep credentials out of everything uidt shows or writes down: :func:`redact`.

A URL may carry a password (``https://user:secret@host/file``). The job needs it to resume, so
the job store keeps the URL whole (the store is private to the user, mode 0600), but every
other place a URL or a message about it goes (the checkpoint next to a download, the daemon
and worker logs through :mod:`uidt.redactlog`, notifications, ``uidt jobs``, ``uidt dumpsys``,
the Task Manager page) gets it through :func:`redact`, which replaces the password with
``***``. Like ``curl`` and ``wget`` in their own output, the user name stays, so the user can
tell which account it was.
"""

from __future__ import annotations

import re

#: What a password is replaced with.
MASK = "***"

# scheme://user:password@ : the user part stops at ':', '@', '/', '?', '#' or a space; the
# password at the last '@' before the path (passwords may contain '@' only percent-encoded).
_USERINFO = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:@/?#]*):(?P<password>[^\s@/?#]*)@"
)


def redact(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` in it replaced by ``***``."""
    if "@" not in text:
        return text
    return _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)


def redact_error(exc: BaseException) -> BaseException:
    """Mask passwords in ``exc``'s message in place (its args, and ``strerror``/``filename`` of
    an ``OSError``), so that whoever prints it shows no credentials; returns ``exc``."""
    exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
    if isinstance(exc, OSError):
        if isinstance(exc.strerror, str):
            exc.strerror = redact(exc.strerror)
        if isinstance(exc.filename, str):
            exc.filename = redact(exc.filename)
    return exc

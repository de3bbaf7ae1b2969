"""User names and passwords for a transfer: ``--user`` and netrc files, as ``curl`` reads them.

Both become an ``Authorization: Basic`` field of the job's :class:`~uidt.transfers.request.
RequestOptions` (a secret: never shown, and not sent to another origin a redirect leads to).

A netrc file (``~/.netrc``, or ``--netrc-file FILE``) gives a ``login`` and ``password`` per
``machine`` (a host name), with a ``default`` entry for the rest. ``curl`` only warns about a
netrc file other users may read; uidt refuses it (a clear error at submit time, the transfer is
not scheduled), since its passwords are then no longer the user's alone: the file must be owned
by the user and have no group or other permission bits (``chmod 600``).
"""

from __future__ import annotations

import base64
import netrc
import os
import stat
from pathlib import Path

from uidt.errors import InvalidJobError


def basic_authorization(user: str, password: str) -> str:
    """The ``Authorization`` value for ``user`` and ``password`` (UTF-8, as curl sends it)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def default_netrc() -> Path:
    """``~/.netrc`` (``$HOME`` first, as curl)."""
    home = os.environ.get("HOME") or str(Path.home())
    return Path(home) / ".netrc"


def _check_private(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise InvalidJobError(f"netrc file {path} is not a regular file")
    if info.st_uid != os.geteuid():
        raise InvalidJobError(f"netrc file {path} is not yours (owner uid {info.st_uid}); refused")
    if info.st_mode & 0o077:
        raise InvalidJobError(
            f"netrc file {path} can be read or changed by other users "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); refused: run chmod 600 {path}"
        )


def netrc_login(path: Path, host: str, *, required: bool) -> tuple[str, str] | None:
    """The ``(login, password)`` ``path`` gives for ``host`` (its ``default`` entry else), or
    ``None`` when it names neither.

    Args:
        path: The netrc file.
        host: The URL's host name.
        required: A missing file is an error (``--netrc``, ``--netrc-file``); else it just
            gives nothing (``--netrc-optional``).

    Raises:
        InvalidJobError: The file is missing (when required), unreadable, another user's,
            readable by others, or not valid netrc.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        if not required:
            return None
        raise InvalidJobError(f"netrc file {path} does not exist") from None
    except OSError as exc:
        raise InvalidJobError(f"cannot read netrc file {path}: {exc.strerror}") from None
    try:
        _check_private(path, os.fstat(fd))
        # The standard parser reads the very file checked above (no second lookup of the name).
        parsed = netrc.netrc(f"/proc/self/fd/{fd}")
    except netrc.NetrcParseError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        raise InvalidJobError(f"netrc file {path} is not valid{where}: {exc.msg}") from None
    except OSError as exc:
        raise InvalidJobError(f"cannot read netrc file {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    entry = parsed.authenticators(host.lower())
    if entry is None:
        return None
    login, _, password = entry
    return login, password or ""

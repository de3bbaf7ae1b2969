"""Whether a systemd socket unit owns a home's control socket (then the CLI starts no daemon).

The rule: **``uidt.socket`` owns the socket of a home when that unit file is in the user's
systemd unit directory, it is enabled (linked from ``sockets.target.wants/``), and its
``ListenStream=`` is that home's socket path.** The command line then never starts a daemon for
that home itself (neither the early start of ``uidt download`` nor the autostart of any other
command): connecting is enough, the service manager starts the daemon. Were the command line to
start one anyway, it would unlink the manager's socket and bind its own. If nothing answers, the
error says that the unit is not listening and how to start or remove it.

Only files are read (no ``systemctl``, no D-Bus): the command line asks on every cold start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from uidt.home.paths import Paths

SOCKET_UNIT = "uidt.socket"
SERVICE_UNIT = "uidt.service"
DESKTOP_ENTRY = "uidt.desktop"
#: Where ``systemctl --user enable`` links a unit with ``WantedBy=sockets.target``.
SOCKETS_WANTS = "sockets.target.wants"
#: Testing and unusual set-ups: the user unit directory to use instead of the XDG one.
UNIT_DIR_ENV = "UIDT_SYSTEMD_USER_DIR"


def config_home(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME``, else ``~/.config``."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME")
    return Path(base) if base else Path(env.get("HOME") or Path.home()) / ".config"


def user_unit_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user's systemd unit directory (``$XDG_CONFIG_HOME/systemd/user``)."""
    env = os.environ if env is None else env
    override = env.get(UNIT_DIR_ENV)
    return Path(override) if override else config_home(env) / "systemd" / "user"


def listen_stream(unit_text: str) -> str | None:
    """The (last) ``ListenStream=`` path of a socket unit's text, specifier escapes undone."""
    found: str | None = None
    for line in unit_text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.strip() == "ListenStream":
            found = value.strip().strip('"').replace("%%", "%")
    return found


def socket_unit_owner(paths: Paths, env: Mapping[str, str] | None = None) -> Path | None:
    """The enabled ``uidt.socket`` unit file that owns ``paths.socket``, or ``None``."""
    unit_dir = user_unit_dir(env)
    unit = unit_dir / SOCKET_UNIT
    if not (unit_dir / SOCKETS_WANTS / SOCKET_UNIT).exists():  # not enabled (or a dead link)
        return None
    try:
        text = unit.read_text(encoding="utf-8")
    except OSError:
        return None
    return unit if listen_stream(text) == str(paths.socket) else None


def not_listening_message(paths: Paths, unit: Path) -> str:
    """What to say when the owning socket unit does not answer."""
    return (
        f"{unit} owns {paths.socket}, but nothing listens there, so no daemon is started "
        f"outside systemd: start it with `systemctl --user start {SOCKET_UNIT}`, or run "
        "`uidt service uninstall` to go back to the command line's own autostart"
    )

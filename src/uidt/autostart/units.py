"""The text of ``uidt.socket``, ``uidt.service`` and the XDG autostart entry ``uidt.desktop``.

Pure functions of the home's paths and the daemon's command line, so that tests compare the
text and :mod:`uidt.autostart.install` only writes it.

The socket unit listens on the home's control socket (``ListenStream=``, private to the user);
the service accepts it (socket activation, ``Accept=no``: one daemon takes the listening socket
itself), says ``READY=1`` once it answers (``Type=notify``), pings the watchdog
(``WatchdogSec=``) and is started again after a crash or a missed watchdog
(``Restart=on-failure``; a daemon stopped by ``uidt daemon stop`` exits 0 and stays stopped
until the next connection). The service is also wanted by ``default.target``: it starts at
login even when nobody connects, which is what makes persisted jobs run again after a reboot.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from uidt.home.paths import Paths
from uidt.home.socketunit import SOCKET_UNIT
from uidt.transfers.names import TRANSFERS_APP

#: The first line of every file written: what wrote it and how to remove it.
HEADER = "# Written by `uidt service install`; remove with `uidt service uninstall`."
#: systemd kills a daemon that has not pinged for this long (it pings at half of it).
WATCHDOG_S = 30
#: How long systemd waits for a graceful stop (running jobs are stopped first) before SIGKILL.
STOP_TIMEOUT_S = 60


def daemon_argv(paths: Paths, python: str | None = None) -> list[str]:
    """The daemon's command line as the service starts it (``python -m uidt.daemon``).

    ``--home`` only for a one-directory home; the XDG layout is found again from the
    session's environment. ``--background``: logs go to the home's rotated ``daemon.log``.
    ``--prestart``: the built-in transfer app's worker boots with the daemon, as with the
    command line's own autostart, so a ``uidt download`` that starts the service does not
    wait for it afterwards (unused, it exits after ``worker_idle_timeout_ms``).
    """
    argv = [python or sys.executable, "-m", "uidt.daemon", "--background"]
    argv += ["--prestart", TRANSFERS_APP]
    if paths.data_dir == paths.config_dir == paths.runtime_dir:
        argv += ["--home", str(paths.data_dir)]
    return argv


def socket_unit(paths: Paths) -> str:
    """``uidt.socket``: the control socket, opened by the user's service manager."""
    return "\n".join(
        [
            HEADER,
            "[Unit]",
            "Description=uidt control socket (user-initiated data transfer jobs)",
            "",
            "[Socket]",
            f"ListenStream={_unit_value(str(paths.socket))}",
            "Accept=no",
            "SocketMode=0600",
            "DirectoryMode=0700",
            "RemoveOnStop=yes",
            "",
            "[Install]",
            "WantedBy=sockets.target",
            "",
        ]
    )


def service_unit(argv: Sequence[str]) -> str:
    """``uidt.service``: the daemon, handed the socket of ``uidt.socket``."""
    return "\n".join(
        [
            HEADER,
            "[Unit]",
            "Description=uidt daemon (user-initiated data transfer jobs)",
            f"Requires={SOCKET_UNIT}",
            f"After={SOCKET_UNIT}",
            "",
            "[Service]",
            "Type=notify",
            "NotifyAccess=main",
            f"ExecStart={exec_line(argv)}",
            f"WatchdogSec={WATCHDOG_S}",
            "Restart=on-failure",
            "RestartSec=2",
            f"TimeoutStopSec={STOP_TIMEOUT_S}",
            # SIGTERM to the daemon only: it stops its app workers itself, gracefully.
            "KillMode=mixed",
            "",
            "[Install]",
            "WantedBy=default.target",
            f"Also={SOCKET_UNIT}",
            "",
        ]
    )


def desktop_entry(argv: Sequence[str]) -> str:
    """``uidt.desktop``: the XDG autostart entry that starts the daemon at login."""
    return "\n".join(
        [
            HEADER,
            "[Desktop Entry]",
            "Type=Application",
            "Name=uidt daemon",
            "Comment=Runs user-initiated data transfer jobs; persisted ones resume after login",
            f"Exec={desktop_exec(argv)}",
            "Terminal=false",
            "NoDisplay=true",
            "X-GNOME-Autostart-enabled=true",
            "",
        ]
    )


def exec_line(argv: Sequence[str]) -> str:
    """``argv`` as a systemd ``ExecStart=`` value (each word quoted where it needs it)."""
    return " ".join(_systemd_word(word) for word in argv)


def desktop_exec(argv: Sequence[str]) -> str:
    """``argv`` as a desktop entry's ``Exec=`` value (the Desktop Entry Specification's quoting)."""
    words = []
    for word in argv:
        word = word.replace("%", "%%")
        if any(c in word for c in " \t\n\"'\\><~|&;$*?#()`="):
            escaped = "".join("\\" + c if c in '"`$\\' else c for c in word)
            word = f'"{escaped}"'
        words.append(word.replace("\\", "\\\\"))  # the file format's own escaping comes on top
    return " ".join(words)


def _systemd_word(word: str) -> str:
    word = _unit_value(word).replace("$", "$$")
    if word and not any(c in word for c in " \t\"'\\;"):
        return word
    escaped = word.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _unit_value(value: str) -> str:
    """``%`` starts a specifier in unit files; a literal one is ``%%``."""
    return value.replace("%", "%%")

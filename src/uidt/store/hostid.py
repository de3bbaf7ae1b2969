"""This host's name in a shared store's leases: the ``host_id`` setting, or one derived here.

The default joins the host name, the start of the machine id (``/etc/machine-id``, stable across
reboots and distinct between machines even when they share a host name) and the user name, since
each user runs a daemon of their own: ``rack7-3f2a9c1d-alice``. Two daemons must never share a
host id (they would adopt each other's leases); set ``host_id`` by hand where machine ids repeat
(cloned images, containers).
"""

from __future__ import annotations

import getpass
import socket
from pathlib import Path

MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))


def machine_id(files: tuple[Path, ...] = MACHINE_ID_FILES) -> str:
    """The machine id, or ``""`` when no file has one."""
    for file in files:
        try:
            text = file.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if text:
            return text
    return ""


def default_host_id(files: tuple[Path, ...] = MACHINE_ID_FILES) -> str:
    """``hostname-machineid8-user`` (parts that cannot be read are left out)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    parts = [socket.gethostname(), machine_id(files)[:8], user]
    return "-".join(part for part in parts if part) or "uidt-host"

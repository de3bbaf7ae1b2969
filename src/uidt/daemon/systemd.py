"""What a daemon started by systemd (or anything speaking its protocol) is handed, and tells back.

Three small parts of systemd's service protocol, written here rather than taken from a library
(each is a few lines of ``os`` and ``socket``):

* **socket activation** (``sd_listen_fds``): the service manager opens the listening socket
  itself and starts the daemon with it as file descriptor 3, ``LISTEN_FDS=1`` and
  ``LISTEN_PID`` set to the daemon's pid. :func:`inherited_listener` takes it over; the
  variables are then removed so that the daemon's own children (app workers) never take them
  for theirs.
* **readiness** (``sd_notify``): a ``Type=notify`` service says ``READY=1`` in a datagram to the
  Unix socket named by ``NOTIFY_SOCKET`` (a leading ``@`` names an abstract socket) once it
  answers its socket; ``STOPPING=1`` when it begins to stop.
* **the watchdog** (``sd_watchdog_enabled``): with ``WatchdogSec=`` the manager sets
  ``WATCHDOG_USEC`` (and ``WATCHDOG_PID``); the daemon must send ``WATCHDOG=1`` more often than
  that or be killed and (``Restart=on-failure``) started again. The pings come from the event
  loop, so a loop that hangs stops them.

Without these variables every function here does nothing: a daemon the CLI autostarts behaves
as before. Kept light (no asyncio at import) because the daemon imports it before the heavy parts.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

from uidt.errors import DaemonError

log = logging.getLogger("uidt.daemon")

#: The first file descriptor a service manager passes (``SD_LISTEN_FDS_START``).
LISTEN_FDS_START = 3
_ACTIVATION_VARS = ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES")


def listen_fds(env: MutableMapping[str, str] | None = None, pid: int | None = None) -> list[int]:
    """The file descriptors passed to this process by socket activation (empty: none).

    The variables count only when ``LISTEN_PID`` is this process (they may have been inherited
    from a parent that was activated); they are removed from ``env`` either way.
    """
    env = os.environ if env is None else env
    count, owner = env.get("LISTEN_FDS"), env.get("LISTEN_PID")
    for name in _ACTIVATION_VARS:
        env.pop(name, None)
    if count is None or owner is None:
        return []
    try:
        n, owner_pid = int(count), int(owner)
    except ValueError:
        log.warning("ignoring malformed LISTEN_FDS=%r LISTEN_PID=%r", count, owner)
        return []
    if owner_pid != (os.getpid() if pid is None else pid) or n < 1:
        return []
    return list(range(LISTEN_FDS_START, LISTEN_FDS_START + n))


def inherited_listener(
    expected: Path, env: MutableMapping[str, str] | None = None
) -> socket.socket | None:
    """The listening control socket a service manager passed, or ``None`` when none was.

    Raises:
        DaemonError: a socket was passed but it is not a listening Unix stream socket bound to
            ``expected`` (a unit that names another path would leave the CLI unable to reach
            the daemon), or more than one was passed.
    """
    fds = listen_fds(env)
    if not fds:
        return None
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise DaemonError(f"socket activation passed {len(fds)} sockets; uidt takes exactly one")
    fd = fds[0]
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        raise DaemonError(f"socket activation: file descriptor {fd} is not open: {exc}") from None
    if not stat.S_ISSOCK(mode):
        os.close(fd)
        raise DaemonError(f"socket activation: file descriptor {fd} is not a socket")
    sock = socket.socket(fileno=fd)
    problem = _listener_problem(sock, expected)
    if problem is not None:
        sock.close()
        raise DaemonError(f"socket activation: {problem}")
    os.set_inheritable(fd, False)  # the app workers must not hold the control socket open
    sock.setblocking(False)
    return sock


def _listener_problem(sock: socket.socket, expected: Path) -> str | None:
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        return "the passed socket is not a Unix stream socket (use ListenStream=PATH)"
    if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        return "the passed socket is not listening (Accept=no is needed)"
    bound = sock.getsockname()
    if not isinstance(bound, str) or os.path.realpath(bound) != os.path.realpath(expected):
        return f"the passed socket is bound to {bound!r}, but this home's socket is {expected}"
    return None


@dataclass(frozen=True)
class ServiceManager:
    """Where to send ``sd_notify`` states, and how often to ping the watchdog (both optional)."""

    notify_socket: str | None = None
    watchdog_s: float | None = None

    @classmethod
    def from_env(cls, env: MutableMapping[str, str] | None = None) -> ServiceManager:
        """Read ``NOTIFY_SOCKET``/``WATCHDOG_USEC``/``WATCHDOG_PID`` and remove them from ``env``.

        Removed so that the daemon's children (app workers) never act on them.
        """
        env = os.environ if env is None else env
        address = env.pop("NOTIFY_SOCKET", None) or None
        usec, owner = env.pop("WATCHDOG_USEC", None), env.pop("WATCHDOG_PID", None)
        watchdog: float | None = None
        try:
            mine = owner is None or int(owner) == os.getpid()
            value = int(usec) if usec is not None else 0
        except ValueError:
            log.warning("ignoring malformed WATCHDOG_USEC=%r WATCHDOG_PID=%r", usec, owner)
        else:
            if mine and value > 0:
                watchdog = value / 2e6  # ping at half the timeout, as sd_watchdog_enabled advises
        return cls(address, watchdog)

    def notify(self, state: str) -> bool:
        """Send ``state`` (e.g. ``"READY=1"``); ``False``: no manager listens, or it failed."""
        if self.notify_socket is None:
            return False
        address = self.notify_socket
        if address.startswith("@"):
            address = "\0" + address[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(address)
                sock.sendall(state.encode())
        except OSError as exc:
            log.warning("could not notify the service manager (%s): %s", state.split("=")[0], exc)
            return False
        return True

    async def run_watchdog(self) -> None:
        """Ping the watchdog from the event loop until cancelled (returns at once without one)."""
        if self.watchdog_s is None:
            return
        import asyncio

        while True:
            self.notify("WATCHDOG=1")
            await asyncio.sleep(self.watchdog_s)


@dataclass
class Handoff:
    """What the service manager handed this daemon: a listening socket and a manager to tell."""

    listener: socket.socket | None = None
    manager: ServiceManager = ServiceManager()

    @classmethod
    def take(cls, expected: Path, env: MutableMapping[str, str] | None = None) -> Handoff:
        """Take the passed socket (if any) and the manager's variables out of ``env``.

        Raises:
            DaemonError: see :func:`inherited_listener`.
        """
        manager = ServiceManager.from_env(env)
        return cls(inherited_listener(expected, env), manager)

    @property
    def owns_socket_path(self) -> bool:
        """Whether the socket's file belongs to someone else (the manager): never unlinked here."""
        return self.listener is not None

"""The kernel's rtnetlink notifications: "the network may have changed", the moment it does.

Android's ConnectivityController (AOSP ``com.android.server.job.controllers.ConnectivityController``)
hears of a network at once through ``NetworkCallback.onAvailable``/``onLost``/
``onCapabilitiesChanged``. The Linux kernel's nearest equivalent is a ``NETLINK_ROUTE`` socket
bound to the multicast groups of links, addresses and routes: every link going up or down,
carrier change, address or route added or removed sends a message to every such socket.

:class:`NetlinkWatch` reads those messages off a non-blocking socket (``loop.add_reader``) and
calls ``on_change()``; it does not parse them, since any of them may change the default network
and the reader reads the whole network again anyway. It drains what is queued at each wake-up
(at most :data:`MAX_MESSAGES_PER_WAKE`, so that a flood cannot hold the event loop). An
overflowing socket (``ENOBUFS``: messages were lost) counts as a change too. A message that
does not come from the kernel (port id 0) is dropped unread: any local process may send to the
socket's port, and it must not make the source read the network in a loop. Any other socket
error ends the watch, logged once, after one last ``on_change()``: the caller's periodic poll
carries on alone, and nothing spins on a socket that keeps failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Callable
from typing import Any, Protocol

#: ``<linux/rtnetlink.h>`` multicast groups (the legacy bit masks ``bind`` takes).
RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_IFADDR = 0x100
RTMGRP_IPV6_ROUTE = 0x400
#: Links, IPv4/IPv6 addresses and routes: what a default network is made of.
NETWORK_GROUPS = (
    RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE
)
#: How long a reader waits after a notification before reading, so that a burst (a link coming
#: up brings its link, address and route messages within a few milliseconds) costs one reading.
COALESCE_S = 0.05
#: Messages read per wake-up at most; the loop calls again while more are queued.
MAX_MESSAGES_PER_WAKE = 256
_RECV_BYTES = 65536
#: Receive buffer asked for, so that an ordinary burst does not overflow (the kernel may cap it).
_RCVBUF_BYTES = 1 << 20


class RouteSocket(Protocol):
    """What :class:`NetlinkWatch` needs of a socket (tests hand it a scripted one)."""

    def fileno(self) -> int: ...

    def recvfrom(self, bufsize: int, /) -> tuple[bytes, Any]: ...

    def close(self) -> None: ...


def open_route_socket(groups: int = NETWORK_GROUPS) -> socket.socket:
    """A non-blocking ``NETLINK_ROUTE`` socket subscribed to ``groups``; raises ``OSError``.

    Raises ``OSError`` too where the platform has no netlink (``AF_NETLINK`` missing).
    """
    family = getattr(socket, "AF_NETLINK", None)
    protocol = getattr(socket, "NETLINK_ROUTE", None)
    if family is None or protocol is None:
        raise OSError(errno.EAFNOSUPPORT, "no AF_NETLINK on this platform")
    sock = socket.socket(family, socket.SOCK_RAW | socket.SOCK_CLOEXEC, protocol)
    try:
        sock.setblocking(False)
        # The default buffer works too: an overflow is handled as a change.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF_BYTES)
        sock.bind((0, groups))
    except OSError:
        sock.close()
        raise
    return sock


class NetlinkWatch:
    """Calls ``on_change()`` when the kernel reports a link, address or route change.

    Args:
        sock: an open route socket (:func:`open_route_socket`), owned from now on.
        on_change: called (on the event loop) once per wake-up that brought any news.
        logger: where the end of the watch is logged.
    """

    def __init__(
        self, sock: RouteSocket, on_change: Callable[[], None], logger: logging.Logger
    ) -> None:
        self._sock: RouteSocket | None = sock
        self._on_change = on_change
        self._logger = logger
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Kernel messages read so far, overflows seen, and messages dropped because a process
        #: and not the kernel sent them (for tests and diagnostics).
        self.messages = 0
        self.overflows = 0
        self.foreign = 0

    @property
    def watching(self) -> bool:
        return self._sock is not None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start reading on ``loop`` (its reader callback)."""
        if self._sock is None:
            return
        self._loop = loop
        loop.add_reader(self._sock.fileno(), self.readable)

    def close(self) -> None:
        """Stop reading and close the socket (idempotent)."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(sock.fileno())
        sock.close()

    def readable(self) -> None:
        """Drain the queued messages; call ``on_change()`` if there was news."""
        news = False
        for _ in range(MAX_MESSAGES_PER_WAKE):
            if self._sock is None:
                break
            try:
                _data, sender = self._sock.recvfrom(_RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as error:
                if error.errno == errno.ENOBUFS:
                    # Messages were dropped: the network may have changed in any way.
                    self.overflows += 1
                    news = True
                    continue
                self._logger.warning(
                    "Kernel network notifications stopped (%s); the network is polled only", error
                )
                self.close()
                news = True
                break
            if not _from_kernel(sender):
                self.foreign += 1
                continue
            self.messages += 1
            news = True
        if news:
            self._on_change()


def _from_kernel(sender: Any) -> bool:
    """Whether a netlink sender address, ``(port id, groups)``, is the kernel's (port id 0)."""
    return isinstance(sender, tuple) and len(sender) >= 1 and sender[0] == 0

"""``NetlinkWatch``: kernel notifications become ``on_change()`` calls, a flood or a broken
socket never makes it spin."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import struct
from collections.abc import Iterator

import pytest

from uidt.device.netlink import MAX_MESSAGES_PER_WAKE, NetlinkWatch, open_route_socket

from .routesocket import ScriptedRouteSocket

LOGGER = logging.getLogger("test.netlink")


@pytest.fixture
def sock() -> Iterator[ScriptedRouteSocket]:
    scripted = ScriptedRouteSocket()
    yield scripted
    scripted.close()


class Changes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def test_a_wake_up_with_news_is_one_change(sock: ScriptedRouteSocket) -> None:
    changes = Changes()
    watch = NetlinkWatch(sock, changes, LOGGER)
    sock.send(b"link", b"addr", b"route")
    watch.readable()
    assert changes.count == 1
    assert watch.messages == 3


def test_a_wake_up_without_news_is_no_change(sock: ScriptedRouteSocket) -> None:
    changes = Changes()
    NetlinkWatch(sock, changes, LOGGER).readable()
    assert changes.count == 0


def test_a_flood_is_read_in_bounded_slices(sock: ScriptedRouteSocket) -> None:
    """A thousand queued messages: one wake-up reads a slice and reports one change; the rest
    waits for the loop's next turn, so other callbacks run in between."""
    changes = Changes()
    watch = NetlinkWatch(sock, changes, LOGGER)
    sock.send(*[b"m"] * 1000)
    watch.readable()
    assert (watch.messages, changes.count) == (MAX_MESSAGES_PER_WAKE, 1)
    while watch.messages < 1000:
        watch.readable()
    assert changes.count == -(-1000 // MAX_MESSAGES_PER_WAKE)


def test_an_overflow_is_a_change_and_the_watch_goes_on(sock: ScriptedRouteSocket) -> None:
    """ENOBUFS: the kernel dropped messages; anything may have changed, so read the network."""
    changes = Changes()
    watch = NetlinkWatch(sock, changes, LOGGER)
    sock.send(OSError(errno.ENOBUFS, "No buffer space available"))
    watch.readable()
    assert (changes.count, watch.overflows, watch.watching) == (1, 1, True)
    sock.send(b"link")
    watch.readable()
    assert changes.count == 2


async def test_a_socket_that_keeps_failing_ends_the_watch_once(
    sock: ScriptedRouteSocket, caplog: pytest.LogCaptureFixture
) -> None:
    """The hostile socket: every recv fails. The watch reads the network once more, says so once
    in the log, stops reading (no busy loop) and closes the socket."""
    changes = Changes()
    watch = NetlinkWatch(sock, changes, LOGGER)
    watch.start(asyncio.get_running_loop())
    sock.fail_forever(OSError(errno.EBADF, "Bad file descriptor"))
    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        for _ in range(50):  # many turns of the loop
            await asyncio.sleep(0)
    assert (changes.count, watch.watching, sock.closed) == (1, False, True)
    assert sock.recv_calls == 1
    assert len([r for r in caplog.records if "polled only" in r.getMessage()]) == 1
    watch.close()  # idempotent


async def test_the_loop_calls_the_watch_when_the_socket_is_readable(
    sock: ScriptedRouteSocket,
) -> None:
    changes = Changes()
    watch = NetlinkWatch(sock, changes, LOGGER)
    watch.start(asyncio.get_running_loop())
    try:
        sock.send(b"link", b"addr")
        await asyncio.wait_for(sock.drained.wait(), 10)
        assert (watch.messages, changes.count) == (2, 1)
    finally:
        watch.close()
    assert sock.closed


def test_messages_a_process_sends_are_not_news(sock: ScriptedRouteSocket) -> None:
    """The hostile neighbour: any local process may send to the socket's port id. Only the
    kernel's messages (port id 0) make the network be read again."""
    changes = Changes()
    watch = NetlinkWatch(sock, changes, LOGGER)
    sock.send(*[(b"spoof", 4242)] * 100)
    watch.readable()
    assert (changes.count, watch.messages, watch.foreign) == (0, 0, 100)
    sock.send((b"spoof", 4242), b"link")
    watch.readable()
    assert (changes.count, watch.messages, watch.foreign) == (1, 1, 101)


@pytest.mark.skipif(not hasattr(socket, "AF_NETLINK"), reason="no netlink on this platform")
def test_a_real_socket_drops_what_another_process_sends_it() -> None:
    """A second netlink socket sends a hundred well-formed messages to the watch's port id."""
    changes = Changes()
    sock = open_route_socket(groups=0)  # no multicast: the host's own changes stay out
    watch = NetlinkWatch(sock, changes, LOGGER)
    sender = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    try:
        sender.bind((0, 0))
        port = sock.getsockname()[0]
        header = struct.pack("=IHHII", 16, 16, 0, 1, sender.getsockname()[0])  # RTM_NEWLINK
        for _ in range(100):
            sender.sendto(header, (port, 0))  # queued on return: netlink delivers at once
        for _ in range(100):  # one call reads them all; bounded in case some were lost
            if watch.foreign == 100:
                break
            watch.readable()
        assert watch.foreign == 100
        assert (changes.count, watch.messages) == (0, 0)
    finally:
        sender.close()
        watch.close()


@pytest.mark.skipif(not hasattr(socket, "AF_NETLINK"), reason="no netlink on this platform")
def test_a_real_route_socket_opens_non_blocking() -> None:
    sock = open_route_socket()
    try:
        assert sock.family == socket.AF_NETLINK
        assert not sock.getblocking()
    finally:
        sock.close()

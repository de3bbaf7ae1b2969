"""``NetlinkWatch``: kernel notifications become ``on_change()`` calls, a flood or a broken
socket never makes it spin."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
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


@pytest.mark.skipif(not hasattr(socket, "AF_NETLINK"), reason="no netlink on this platform")
def test_a_real_route_socket_opens_non_blocking() -> None:
    sock = open_route_socket()
    try:
        assert sock.family == socket.AF_NETLINK
        assert not sock.getblocking()
    finally:
        sock.close()

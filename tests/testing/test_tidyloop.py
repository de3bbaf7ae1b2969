"""The tests' own event loop (``tests/conftest.py``): a closed connection still waiting to send
is reset when the loop closes, so it is not collected later as an "unclosed transport"."""

from __future__ import annotations

import asyncio
import gc
import socket
import warnings

import pytest

from uidt.testing.tidyloop import TidyEventLoop


def _closing_transport_left_at_close(loop: asyncio.AbstractEventLoop) -> list[str]:
    """Close ``loop`` with a transport that was closed while its peer read nothing; the
    warnings its collection gives."""
    ours, peer = socket.socketpair()
    try:

        async def closed_with_unsent_bytes() -> None:
            transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
            transport.write(b"x" * (8 << 20))  # more than the socket buffers take
            transport.close()  # closing: it waits for the peer to read the rest
            assert transport.is_closing()

        loop.run_until_complete(closed_with_unsent_bytes())
        loop.close()
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            gc.collect()
        return [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)]
    finally:
        peer.close()


def test_the_tidy_loop_resets_a_closing_transport_at_its_close() -> None:
    assert _closing_transport_left_at_close(TidyEventLoop()) == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_plain_loop_leaves_it_to_be_collected_as_unclosed() -> None:
    """The control: what the tidy loop saves the suite from."""
    assert any(
        "unclosed transport" in w
        for w in _closing_transport_left_at_close(asyncio.SelectorEventLoop())
    )

"""Fixtures for transfer tests: a real loopback server and a sleep that does not wait.

A module whose download tests run on every reader uses the ``reader`` fixture (parametrized
over :data:`READERS`) and passes ``reader_options`` to ``download``; the ``server`` then speaks
HTTPS for the ``"https"`` reader.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from uidt.testing.httpserver import RecordingSleep, TransferTestServer
from uidt.transfers.request import RequestOptions

#: The readers a download test runs with: uidt's own over plain HTTP (``splice``), ``aiohttp``
#: (as for redirects and chunked bodies), and uidt's own over TLS (``https``: the server then
#: presents a self-signed certificate the download trusts with ``--cacert``).
READERS = ["splice", "aiohttp", "https"]


@pytest.fixture(params=READERS)
def reader(request: pytest.FixtureRequest) -> str:
    """The body reader of the test (see :data:`READERS`)."""
    return str(request.param)


@pytest.fixture
def reader_options(reader: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The keyword arguments of ``download`` that select ``reader``."""
    if reader == "https":
        cert: Path = request.getfixturevalue("self_signed_cert")
        return {"raw_http": True, "request": RequestOptions(cacert=str(cert))}
    return {"raw_http": reader == "splice"}


@pytest.fixture
def server_tls(request: pytest.FixtureRequest) -> ssl.SSLContext | None:
    """HTTPS (a self-signed certificate) when the test runs on the ``https`` reader."""
    if "reader" not in request.fixturenames or request.getfixturevalue("reader") != "https":
        return None
    context: ssl.SSLContext = request.getfixturevalue("self_signed_tls")
    return context


@pytest.fixture
async def server(server_tls: ssl.SSLContext | None) -> AsyncIterator[TransferTestServer]:
    async with TransferTestServer(ssl_context=server_tls) as running:
        yield running


@pytest.fixture
def no_wait() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture(scope="session")
def payload() -> bytes:
    return os.urandom(3 * 1024 * 1024 + 12345)

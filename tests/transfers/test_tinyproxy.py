"""Downloads through Debian's ``tinyproxy``, a proxy uidt did not write, on a loopback port.

``tinyproxy`` adds a ``Via`` field to each request it forwards and logs each request line, so
the tests see that the request went through it. Skipped (one line) where it is not installed
(``.ci/install-browser`` installs it).
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from uidt.errors import ProxyError
from uidt.testing.httpserver import RecordingSleep, TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.proxy import ProxySettings
from uidt.transfers.request import RequestOptions

DATA = bytes(range(256)) * 1024
PASSWORD = "tiny-5ecret-42"


@dataclass
class Tinyproxy:
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self) -> list[str]:
        """The request lines it logged (``GET http://...``, ``CONNECT host:port``)."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return [line.partition("): ")[2] for line in lines if "Request (file descriptor" in line]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(folder: Path, extra: str = "") -> Iterator[Tinyproxy]:
    binary = shutil.which("tinyproxy")
    if binary is None:
        pytest.skip("tinyproxy is not installed (apt-get install tinyproxy): no real-proxy tests")
    port, log = _free_port(), folder / "tinyproxy.log"
    config = folder / "tinyproxy.conf"
    config.write_text(
        f'Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 16\nLogLevel Info\nLogFile "{log}"\n'
        f"Allow 127.0.0.1\n{extra}"
    )
    errors = folder / "tinyproxy.err"
    with errors.open("wb") as sink:
        process = subprocess.Popen(
            [binary, "-d", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=sink
        )
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"tinyproxy did not start: {errors.read_text(errors='replace')!r}")
            time.sleep(0.02)  # noqa: TID251 - polls a real process's port, bounded by the deadline
        yield Tinyproxy(port, log)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def tinyproxy(tmp_path: Path) -> Iterator[Tinyproxy]:
    yield from _start(tmp_path)


@pytest.fixture
def tinyproxy_with_auth(tmp_path: Path) -> Iterator[Tinyproxy]:
    yield from _start(tmp_path, f"BasicAuth ann {PASSWORD}\n")


async def test_plain_http_through_tinyproxy(
    server: TransferTestServer, tinyproxy: Tinyproxy, tmp_path: Path
) -> None:
    server.add_file("/f.bin", DATA)
    request = RequestOptions(proxy=ProxySettings.from_environ({"http_proxy": tinyproxy.url}))
    await download(server.url("/f.bin"), tmp_path / "f", request=request)
    assert (tmp_path / "f").read_bytes() == DATA
    [seen] = server.requests
    assert "tinyproxy" in seen.headers.get("via", "")
    assert tinyproxy.requests() == [f"GET {server.url('/f.bin')} HTTP/1.1"]


async def test_https_through_tinyproxys_connect(
    tinyproxy: Tinyproxy,
    self_signed_tls: ssl.SSLContext,
    self_signed_cert: Path,
    tmp_path: Path,
) -> None:
    async with TransferTestServer(ssl_context=self_signed_tls) as tls:
        tls.add_file("/f.bin", DATA)
        request = RequestOptions(
            cacert=str(self_signed_cert),
            proxy=ProxySettings.from_environ({"https_proxy": tinyproxy.url}),
        )
        await download(tls.url("/f.bin"), tmp_path / "f", request=request)
        assert (tmp_path / "f").read_bytes() == DATA
        assert len(tls.requests) == 1
        assert tinyproxy.requests() == [f"CONNECT 127.0.0.1:{tls.port} HTTP/1.1"]


async def test_tinyproxys_407_and_its_credentials(
    server: TransferTestServer,
    tinyproxy_with_auth: Tinyproxy,
    tmp_path: Path,
    no_wait: RecordingSleep,
) -> None:
    server.add_file("/f.bin", DATA)
    bare = RequestOptions(proxy=ProxySettings(proxy=tinyproxy_with_auth.url))
    with pytest.raises(ProxyError, match="wants credentials"):
        await download(server.url("/f.bin"), tmp_path / "no", request=bare, sleep=no_wait)
    assert server.requests == []
    url = tinyproxy_with_auth.url.replace("//", f"//ann:{PASSWORD}@")
    with_pw = RequestOptions(proxy=ProxySettings(proxy=url))
    await download(server.url("/f.bin"), tmp_path / "yes", request=with_pw)
    assert (tmp_path / "yes").read_bytes() == DATA
    assert "proxy-authorization" not in server.requests[0].headers

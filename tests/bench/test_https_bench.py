"""The HTTPS benchmark's pieces: its CA is one the clients must really check, its ratios."""

from __future__ import annotations

import asyncio
import shutil
import ssl
from pathlib import Path

import pytest
from bench.https_bench import Row, make_ca, report
from bench.transfer_bench import GiB, Origin

from uidt.errors import ServerCertificateError
from uidt.testing.httpserver import TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.request import RequestOptions


def test_the_ratio_is_the_median_of_the_rounds_and_the_cpu_is_per_gib() -> None:
    curl = Row("curl -o", walls=[2.0, 2.0, 4.0], cpus=[1.0, 1.0, 1.0])
    uidt = Row("uidt", walls=[1.0, 4.0, 2.0], cpus=[2.0, 2.0, 2.0])
    text = report(Origin("nginx https", "https://x"), [curl, uidt], 2 * GiB, 3, "1.0", "2.0")
    assert "load average 1.0 at the start, 2.0 at the end" in text
    # per-round speed ratios 2.0, 0.5, 2.0: median 2.0; CPU 2 s for 2 GiB: 1.00 s/GiB
    assert "| uidt | 2.00 | 1074 | 1.00 | 2.00x | 0.50x |" in text
    assert "| curl -o | 2.00 | 1074 | 0.50 | 1.00x | 1.00x |" in text


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
async def test_the_bench_ca_signs_a_certificate_for_127_0_0_1_and_nothing_else(
    tmp_path: Path,
) -> None:
    ca, cert, key = make_ca(tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    async with TransferTestServer(ssl_context=served) as server:
        server.add_file("/f", b"x" * 1000)
        trusted = RequestOptions(cacert=str(ca))
        await download(server.url("/f"), tmp_path / "ok", request=trusted)
        assert (tmp_path / "ok").read_bytes() == b"x" * 1000
        other = server.url("/f").replace("127.0.0.1", "localhost")
        with pytest.raises(ServerCertificateError, match="certificate"):
            await asyncio.wait_for(download(other, tmp_path / "no", request=trusted), 60)

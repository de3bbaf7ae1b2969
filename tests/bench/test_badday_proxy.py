"""The bad day's fault proxy, in front of the project's loopback test server."""

from __future__ import annotations

import asyncio
import io
import json
import math
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bench.badday.proxy import Faults, Log, Proxy, parse_t0
from bench.badday.ready import wait_accepting
from bench.badday.trace import Event, Kind, Trace

from uidt.testing.httpserver import TransferTestServer

FILE = bytes(range(256)) * 1024  # 256 KiB
CHANGED = bytes(reversed(range(256))) * 1024
FOREVER = 1e9
ROOT = str(Path(__file__).resolve().parents[2])


@pytest.fixture
async def upstream() -> AsyncIterator[TransferTestServer]:
    async with TransferTestServer() as server:
        server.add_file("/f.bin", FILE)
        server.add_file("/changed.bin", CHANGED)
        yield server


async def start_proxy(
    upstream: TransferTestServer, *events: Event
) -> tuple[asyncio.Server, int, Log]:
    # Events at up to 100 s lie in the past: "now" is 100 s after t0.
    log = Log(io.StringIO(), time.time() - 100.0)
    trace = Trace(seed=0, size=len(FILE), base_mbit=80.0, events=tuple(events))
    port = int(upstream.url("/f.bin").split(":")[2].split("/")[0])
    proxy = Proxy(("127.0.0.1", port), Faults(trace, log), log, ("/f.bin", "/changed.bin"))
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], log


async def get(port: int, path: str = "/f.bin") -> tuple[str, dict[str, str], bytes]:
    """One GET on a fresh connection: the status line, headers, and every body byte read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    body = await reader.read()
    writer.close()
    return head[0], headers, body


async def test_without_faults_the_body_passes_whole_and_is_counted(
    upstream: TransferTestServer,
) -> None:
    server, port, log = await start_proxy(upstream)
    async with server:
        status, _, body = await get(port)
    assert status.endswith("200 OK")
    assert body == FILE
    log.flush()
    assert isinstance(log.out, io.StringIO)
    sent = sum(r.get("bytes", 0) for r in map(json.loads, log.out.getvalue().splitlines()))
    assert len(FILE) < sent < len(FILE) + 1024  # the body and one head


async def test_a_truncated_response_promises_the_length_and_ends_early_once(
    upstream: TransferTestServer,
) -> None:
    server, port, _ = await start_proxy(upstream, Event(at=1.0, kind=Kind.TRUNCATE, value=0.25))
    async with server:
        _, headers, body = await get(port)
        assert int(headers["Content-Length"]) == len(FILE)
        assert body == FILE[: len(FILE) // 4]
        _, _, whole = await get(port)
    assert whole == FILE


@pytest.mark.parametrize(("kind", "status"), [(Kind.HTTP_503, "503"), (Kind.HTTP_429, "429")])
async def test_a_burst_is_answered_by_the_proxy(
    upstream: TransferTestServer, kind: Kind, status: str
) -> None:
    server, port, _ = await start_proxy(upstream, Event(at=1.0, kind=kind, duration=FOREVER))
    async with server:
        line, headers, _ = await get(port)
    assert line.split(" ")[1] == status
    assert headers["Connection"] == "close"
    assert ("Retry-After" in headers) == (kind is Kind.HTTP_429)
    assert upstream.bytes_sent("/f.bin") == 0


async def test_after_the_change_the_file_is_the_other_one_with_its_own_etag(
    upstream: TransferTestServer,
) -> None:
    server, port, _ = await start_proxy(upstream, Event(at=1.0, kind=Kind.ETAG))
    async with server:
        _, headers, body = await get(port)
    assert body == CHANGED
    assert headers["ETag"] == upstream.etag("/changed.bin") != upstream.etag("/f.bin")


async def test_a_reset_aborts_a_response_under_way(upstream: TransferTestServer) -> None:
    # Due 0.3 s after the request starts; the body takes 4 s at the upstream's pace.
    server, port, _ = await start_proxy(upstream, Event(at=100.3, kind=Kind.RESET))
    upstream.throttle("/f.bin", 64 * 1024)
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /f.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        received: list[int] = []
        with pytest.raises(ConnectionResetError):
            await read_counting(reader, received)
        writer.close()
    assert sum(received) < len(FILE)


async def read_counting(reader: asyncio.StreamReader, counts: list[int]) -> None:
    while chunk := await reader.read(65536):
        counts.append(len(chunk))


async def test_before_the_time_zero_a_connection_is_accepted_but_not_served(
    upstream: TransferTestServer,
) -> None:
    out = io.StringIO()
    log = Log(out, math.inf)  # the zero is not known yet
    trace = Trace(seed=0, size=len(FILE), base_mbit=80.0, events=())
    port = int(upstream.url("/f.bin").split(":")[2].split("/")[0])
    started = asyncio.Event()
    proxy = Proxy(("127.0.0.1", port), Faults(trace, log), log, ("/f.bin", "/changed.bin"), started)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    async with server:
        pending = asyncio.ensure_future(get(server.sockets[0].getsockname()[1]))
        for _ in range(20):  # give the request every chance to be (wrongly) served
            await asyncio.sleep(0)
        assert not pending.done()
        assert out.getvalue() == ""
        log.t0 = time.time()
        started.set()
        status, _, body = await asyncio.wait_for(pending, 30)
    assert status.endswith("200 OK")
    assert body == FILE
    request = [json.loads(x) for x in out.getvalue().splitlines() if "request" in x]
    assert request
    assert 0.0 <= request[0]["t"] < 30.0


async def test_the_proxy_process_listens_first_and_reads_its_zero_from_stdin(
    upstream: TransferTestServer, tmp_path: Path
) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        listen_port = free.getsockname()[1]
    up_port = int(upstream.url("/f.bin").split(":")[2].split("/")[0])
    trace_file = tmp_path / "trace.json"
    trace_file.write_text(Trace(seed=0, size=len(FILE), base_mbit=80.0, events=()).to_json())
    log_file = tmp_path / "proxy.jsonl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.badday.proxy", "--listen", f"127.0.0.1:{listen_port}",
        "--upstream", f"127.0.0.1:{up_port}", "--trace", str(trace_file),
        "--log", str(log_file), "--path", "/f.bin", "--changed-path", "/changed.bin",
        stdin=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    try:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, wait_accepting, "127.0.0.1", listen_port, 30.0)
        assert proc.stdin is not None
        proc.stdin.write(f"{time.time()!r}\n".encode())
        await proc.stdin.drain()
        status, _, body = await get(listen_port)
        assert status.endswith("200 OK")
        assert body == FILE
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
    events = [json.loads(x) for x in log_file.read_text().splitlines()]
    assert [e["event"] for e in events if "event" in e] == ["listening", "request"]
    # it listened before the zero was sent (the log keeps milliseconds: a listen less than
    # half a millisecond before it reads -0.0)
    assert events[0]["t"] <= 0.0


def test_a_zero_that_is_no_number_is_a_clear_error() -> None:
    with pytest.raises(SystemExit, match="expected the time zero on stdin"):
        parse_t0("soon\n")

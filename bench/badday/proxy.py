"""The fault proxy of the bad day: between the clients and nginx, in the server's namespace.

``python -m bench.badday.proxy --listen IP:PORT --upstream HOST:PORT --trace FILE --t0 EPOCH
--log FILE --path /F --changed-path /G`` forwards HTTP/1.1 requests one at a time per connection (no pipelining: none of
the clients pipelines) and carries out the trace's proxy faults at their times, counted from
``--t0`` (wall clock, the same the harness uses):

* reset: every connection open at that moment is aborted with a TCP RST;
* truncate: the next response body is cut at the event's fraction and the connection closed
  (the head promised the whole length);
* stall: nothing is forwarded to any client for the duration (connections stay open);
* 503 / 429 burst: every request in the window is answered by the proxy itself, with
  ``Retry-After: 2`` on the 429s, and the connection closed;
* ETag change: the file is replaced on the server by another one of the same size: from then
  on every request for ``--path`` is sent to nginx for ``--changed-path`` (a different file,
  so nginx gives it another ETag and ``Last-Modified`` and answers ``If-Range`` / ``If-Match``
  as for a changed file; a client that resumes without a validator gets a mix of the two).

Without ``--t0`` the proxy listens first and reads the trace's time zero (seconds since the
epoch) as one line on its standard input: the harness sends it once every lane accepts, so
the zero is the same moment for all of them. Until then a connection is accepted but not
served (the harness's readiness probe is such a connection).

It logs to ``--log`` (JSON lines): the bytes written to clients per 0.1 s bucket, every
request with its answer, every fault carried out. Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from typing import IO, Any

from bench.badday.trace import Kind, Trace

BUCKET_S = 0.1
CHUNK = 64 * 1024


class Log:
    """Bytes per bucket and events, appended as JSON lines (flushed as buckets close)."""

    def __init__(self, out: IO[str], t0: float) -> None:
        self.out = out
        self.t0 = t0
        self.bucket = -1
        self.count = 0

    def now(self) -> float:
        return time.time() - self.t0

    def sent(self, n: int) -> None:
        bucket = int(self.now() / BUCKET_S)
        if bucket != self.bucket:
            self.flush()
            self.bucket = bucket
        self.count += n

    def flush(self) -> None:
        if self.count:
            self.write({"t": round(self.bucket * BUCKET_S, 2), "bytes": self.count})
        self.count = 0

    def write(self, record: dict[str, object]) -> None:
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()

    def event(self, what: str, **fields: object) -> None:
        self.flush()
        self.write({"t": round(self.now(), 3), "event": what, **fields})


class Faults:
    """The trace's proxy faults as the proxy asks about them."""

    def __init__(self, trace: Trace, log: Log) -> None:
        self.trace = trace
        self.log = log
        self.resets_done = 0
        self.truncates_used = 0

    def _due(self, kind: Kind) -> list[float]:
        now = self.log.now()
        return [e.value for e in self.trace.events if e.kind is kind and e.at <= now]

    def in_window(self, kind: Kind) -> bool:
        now = self.log.now()
        return any(e.at <= now < e.end for e in self.trace.events if e.kind is kind)

    def resets_due(self) -> int:
        return len(self._due(Kind.RESET))

    def take_truncate(self) -> float | None:
        due = self._due(Kind.TRUNCATE)
        if len(due) > self.truncates_used:
            self.truncates_used += 1
            return due[self.truncates_used - 1]
        return None

    def etag_changed(self) -> bool:
        return bool(self._due(Kind.ETAG))


def _parse_head(raw: bytes) -> tuple[str, list[tuple[str, str]]]:
    lines = raw.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return lines[0], headers


def _build_head(first: str, headers: list[tuple[str, str]]) -> bytes:
    return (first + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n").encode(
        "latin-1"
    )


def _get(headers: list[tuple[str, str]], name: str) -> str | None:
    for n, v in headers:
        if n.lower() == name.lower():
            return v
    return None


class Proxy:
    def __init__(
        self,
        upstream: tuple[str, int],
        faults: Faults,
        log: Log,
        paths: tuple[str, str],
        started: asyncio.Event | None = None,
    ) -> None:
        self.upstream = upstream
        self.faults = faults
        self.log = log
        self.path, self.changed_path = paths
        #: Set once the trace's time zero is known; nothing is served before.
        self.started = started

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.started is not None:
            await self.started.wait()
        resets_seen = self.faults.resets_due()
        up_reader: asyncio.StreamReader | None = None
        up_writer: asyncio.StreamWriter | None = None
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                first, headers = _parse_head(raw[:-4])
                answer = self._burst_answer()
                if answer is not None:
                    self.log.event("request", line=first, status=answer[0], by="proxy")
                    await self._send(writer, answer[1])
                    return
                if self.faults.etag_changed():
                    method, target, version = first.split(" ", 2)
                    if target == self.path:
                        first = f"{method} {self.changed_path} {version}"
                if up_writer is None:
                    up_reader, up_writer = await asyncio.open_connection(*self.upstream)
                assert up_reader is not None
                up_writer.write(_build_head(first, headers))
                await up_writer.drain()
                head = await up_reader.readuntil(b"\r\n\r\n")
                status_line, rheaders = _parse_head(head[:-4])
                length = int(_get(rheaders, "Content-Length") or 0)
                if first.startswith("HEAD "):
                    length = 0
                self.log.event(
                    "request",
                    line=first,
                    range=_get(headers, "Range"),
                    status=status_line.split(" ")[1],
                    length=length,
                )
                cut = self.faults.take_truncate() if length else None
                body_limit = length if cut is None else int(length * cut)
                if cut is not None:
                    self.log.event("fault", kind="truncate", after=body_limit, of=length)
                await self._send(writer, _build_head(status_line, rheaders))
                remaining = length
                while remaining > 0:
                    if self.faults.resets_due() > resets_seen:
                        self.log.event("fault", kind="reset")
                        _abort(writer)
                        return
                    if length - remaining >= body_limit:
                        writer.close()
                        return
                    chunk = await up_reader.read(
                        min(CHUNK, remaining, body_limit - (length - remaining))
                    )
                    if not chunk:
                        writer.close()
                        return
                    remaining -= len(chunk)
                    while self.faults.in_window(Kind.STALL):
                        await asyncio.sleep(0.05)
                        if self.faults.resets_due() > resets_seen:
                            break
                    await self._send(writer, chunk)
                if (_get(headers, "Connection") or "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            return
        finally:
            if up_writer is not None:
                up_writer.close()
            if not writer.is_closing():
                writer.close()

    def _burst_answer(self) -> tuple[int, bytes] | None:
        for kind, status, reason, extra in (
            (Kind.HTTP_503, 503, "Service Unavailable", ""),
            (Kind.HTTP_429, 429, "Too Many Requests", "Retry-After: 2\r\n"),
        ):
            if self.faults.in_window(kind):
                body = f"{status} {reason}\n".encode()
                head = (
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n{extra}"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                )
                return status, head.encode() + body
        return None

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        self.log.sent(len(data))


def _abort(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def serve(args: argparse.Namespace, trace: Trace, log: Log) -> None:
    host, _, port = args.listen.rpartition(":")
    up_host, _, up_port = args.upstream.rpartition(":")
    paths = (args.path, args.changed_path)
    started = None if args.t0 is not None else asyncio.Event()
    proxy = Proxy((up_host, int(up_port)), Faults(trace, log), log, paths, started)
    server = await asyncio.start_server(proxy.handle, host, int(port), reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        listening_at = time.time()
        if started is not None:
            log.t0 = await read_t0(sys.stdin, stop)
            started.set()
        # When it began to listen, counted from the zero (negative: that long before it).
        log.write(
            {"t": round(listening_at - log.t0, 3), "event": "listening", "address": args.listen}
        )
        await stop.wait()
    log.flush()


def parse_t0(line: str) -> float:
    """The time zero sent on the standard input (seconds since the epoch)."""
    try:
        return float(line.strip())
    except ValueError:
        raise SystemExit(f"proxy: expected the time zero on stdin, got {line.strip()!r}") from None


async def read_t0(stdin: IO[str], stop: asyncio.Event) -> float:
    """Wait for the time zero line on ``stdin`` (the proxy ends if it never comes)."""
    read = asyncio.get_running_loop().run_in_executor(None, stdin.readline)
    stopped = asyncio.ensure_future(stop.wait())
    either: set[asyncio.Future[Any]] = {read, stopped}
    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    if not read.done():
        raise SystemExit(0)
    stopped.cancel()
    line = read.result()
    if not line:
        raise SystemExit("proxy: stdin closed before the time zero was sent")
    return parse_t0(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--trace", required=True)
    parser.add_argument("--t0", type=float, help="time zero; without it, read from stdin")
    parser.add_argument("--log", required=True)
    parser.add_argument("--path", required=True, help="the file's URL path")
    parser.add_argument("--changed-path", required=True, help="what it becomes at the change")
    args = parser.parse_args()
    trace = Trace.from_json(Path(args.trace).read_text())
    with open(args.log, "a") as out:
        asyncio.run(serve(args, trace, Log(out, math.inf if args.t0 is None else args.t0)))


if __name__ == "__main__":
    main()

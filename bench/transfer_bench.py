"""Download throughput: the uidt engine against curl (and aria2c), on loopback.

Serves one generated file (``UIDT_BENCH_SIZE``, default ``1G``; kept in ``UIDT_BENCH_DIR``,
default ``/tmp/uidt-bench``) from uidt's own aiohttp test server and, if ``nginx`` is installed,
from nginx. Every client runs as a fresh process (interpreter start included), round-robin,
``UIDT_BENCH_RUNS`` times (default 3); the table shows medians, client CPU seconds per GiB and
the ratio to plain ``curl -o``.

Adding a client (for example the daemon's ``uidt download --wait``) is one line::

    CLIENTS.append(Client("uidt download --wait", lambda url, dest: ["uidt", "download", ...]))

Run: ``python -m bench transfer_bench`` (or ``python -m bench.transfer_bench``).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from uidt.testing.httpserver import ThreadedTransferTestServer

GiB = 1024**3
MiB = 1024**2

ENGINE_SNIPPET = (
    "import asyncio, sys; from uidt.transfers.download import download; "
    "asyncio.run(download(sys.argv[1], sys.argv[2]))"
)
ENGINE_NO_MIDWAY_FSYNC = (
    "import asyncio, sys; from uidt.transfers.download import download; "
    "asyncio.run(download(sys.argv[1], sys.argv[2], checkpoint_bytes=1 << 50, "
    "checkpoint_seconds=1e9))"
)


@dataclass(frozen=True)
class Client:
    """One way of downloading ``url`` to ``dest``.

    Attributes:
        name: Row label.
        argv: Builds the command line from ``(url, dest)``.
        needs: Executables that must be on ``PATH`` (the client is skipped otherwise).
        writes_dest: False for sinks like ``-o /dev/null`` (no size check, nothing to delete).
    """

    name: str
    argv: Callable[[str, Path], list[str]]
    needs: tuple[str, ...] = ()
    writes_dest: bool = True

    def available(self) -> bool:
        """Whether every executable the client needs is installed."""
        return all(shutil.which(tool) for tool in self.needs)


CLIENTS: list[Client] = [
    Client("curl -o /dev/null (origin ceiling)", lambda u, d: ["curl", "-s", "-o", "/dev/null", u], ("curl",), False),
    Client("curl -o", lambda u, d: ["curl", "-s", "-o", str(d), u], ("curl",)),
    Client("curl -o && sync FILE", lambda u, d: ["sh", "-c", f"curl -s -o '{d}' '{u}' && sync '{d}'"], ("curl", "sync")),
    Client("uidt engine (default: fsync every 64 MiB)", lambda u, d: [sys.executable, "-c", ENGINE_SNIPPET, u, str(d)]),
    Client("uidt engine (fsync only at the end)", lambda u, d: [sys.executable, "-c", ENGINE_NO_MIDWAY_FSYNC, u, str(d)]),
    Client("aria2c", lambda u, d: ["aria2c", "-q", "--allow-overwrite=true", "-d", str(d.parent), "-o", d.name, u], ("aria2c",)),
]  # fmt: skip
"""The clients measured, in order; the first ``curl -o`` row is the ratio baseline."""

BASELINE = "curl -o"


@dataclass
class Origin:
    """A server for the file, and how to read its CPU time (if we can)."""

    name: str
    url: str
    cpu_seconds: Callable[[], float | None] = lambda: None


@dataclass
class Row:
    """Measurements of one client against one origin."""

    client: str
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    server_cpus: list[float] = field(default_factory=list)


def parse_size(text: str) -> int:
    """``1G``, ``256M``, ``4096`` → bytes."""
    text = text.strip().upper()
    for suffix, factor in (("G", GiB), ("M", MiB), ("K", 1024)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def source_file(directory: Path, size: int) -> Path:
    """A file of ``size`` random bytes in ``directory``, reused if it is already there."""
    path = directory / f"source-{size}.bin"
    if path.exists() and path.stat().st_size == size:
        return path
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        left = size
        while left:
            block = os.urandom(min(16 * MiB, left))
            out.write(block)
            left -= len(block)
    tmp.replace(path)
    return path


@contextlib.contextmanager
def uidt_origin(source: Path) -> Iterator[Origin]:
    """uidt's aiohttp test server in a thread of this process (its CPU is our CPU)."""
    with ThreadedTransferTestServer() as server:
        server.server.chunk_size = 1 * MiB
        server.add_path("/file.bin", source)
        yield Origin("uidt test server (aiohttp)", server.url("/file.bin"), time.process_time)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def nginx_origin(source: Path) -> Iterator[Origin | None]:
    """nginx (1 worker, sendfile) serving the file, if nginx is installed."""
    nginx = shutil.which("nginx")
    if nginx is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="uidt-nginx-") as tmp:
        port = _free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(
            f"worker_processes 1; daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log;\n"
            "events {}\n"
            f"http {{ access_log off; sendfile on; client_body_temp_path {tmp}; proxy_temp_path {tmp};\n"
            f"  fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};\n"
            f"  server {{ listen 127.0.0.1:{port}; root {source.parent}; }} }}\n"
        )
        process = subprocess.Popen([nginx, "-c", str(conf), "-p", tmp])
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), 0.2),
                ):
                    break
            yield Origin("nginx", f"http://127.0.0.1:{port}/{source.name}")
        finally:
            process.terminate()
            process.wait(10)


def run_once(argv: list[str], origin: Origin) -> tuple[float, float, float | None]:
    """Run one client; return (wall s, client CPU s, server CPU s or None)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = origin.cpu_seconds()
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    server_after = origin.cpu_seconds()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    server = None if server_before is None or server_after is None else server_after - server_before
    return wall, cpu, server


def measure(origin: Origin, clients: list[Client], size: int, target: Path, runs: int) -> list[Row]:
    """Round-robin ``runs`` rounds of every client against ``origin``."""
    rows = [Row(client.name) for client in clients]
    for round_number in range(runs):
        for client, row in zip(clients, rows, strict=True):
            dest = target / "download.bin"
            with contextlib.suppress(FileNotFoundError):
                dest.unlink()
            wall, cpu, server = run_once(client.argv(origin.url, dest), origin)
            if client.writes_dest:
                got = dest.stat().st_size
                if got != size:
                    raise RuntimeError(f"{client.name}: wrote {got} bytes, expected {size}")
                dest.unlink()
            row.walls.append(wall)
            row.cpus.append(cpu)
            if server is not None:
                row.server_cpus.append(server)
            print(f"  round {round_number + 1} {client.name}: {wall:.2f} s", file=sys.stderr)
    return rows


def report(origin: Origin, rows: list[Row], size: int) -> str:
    """A Markdown table of medians for one origin."""
    gib = size / GiB
    baseline = next((r for r in rows if r.client == BASELINE), None)
    base_wall = statistics.median(baseline.walls) if baseline else None
    lines = [
        f"origin: {origin.name}, {size / MiB:.0f} MiB, median of {len(rows[0].walls)}",
        "",
        "| client | median s | MB/s | client CPU s/GiB | server CPU s/GiB | / curl -o |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        wall = statistics.median(row.walls)
        cpu = statistics.median(row.cpus) / gib
        server = f"{statistics.median(row.server_cpus) / gib:.2f}" if row.server_cpus else "-"
        ratio = f"{wall / base_wall:.2f}" if base_wall else "-"
        lines.append(
            f"| {row.client} | {wall:.2f} | {size / wall / 1e6:.0f} | {cpu:.2f} | {server} | {ratio} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Run the transfer benchmark and print one table per origin."""
    size = parse_size(os.environ.get("UIDT_BENCH_SIZE", "1G"))
    runs = int(os.environ.get("UIDT_BENCH_RUNS", "3"))
    work = Path(os.environ.get("UIDT_BENCH_DIR", "/tmp/uidt-bench"))
    work.mkdir(parents=True, exist_ok=True)
    serve_dir = work / "srv"
    serve_dir.mkdir(exist_ok=True)
    target = work / "dl"
    target.mkdir(exist_ok=True)
    source = source_file(serve_dir, size)
    clients = [c for c in CLIENTS if c.available()]
    skipped = [c.name for c in CLIENTS if not c.available()]
    if skipped:
        print(f"not installed, skipped: {', '.join(skipped)}")
    with contextlib.ExitStack() as stack:
        origins = [stack.enter_context(uidt_origin(source))]
        nginx = stack.enter_context(nginx_origin(source))
        if nginx is None:
            print("nginx is not installed: measuring the uidt test server only")
        else:
            origins.append(nginx)
        for origin in origins:
            print(report(origin, measure(origin, clients, size, target, runs), size))
            print()


if __name__ == "__main__":
    main()

"""Download throughput: ``uidt download --wait`` and the engine against curl and aria2c.

Serves one generated file (``UIDT_BENCH_SIZE``, default ``1G``; kept in ``UIDT_BENCH_DIR``,
default ``/tmp/uidt-bench``) from uidt's own aiohttp test server and, if ``nginx`` is installed,
from nginx. Every client runs as a fresh process (interpreter start included), round-robin,
``UIDT_BENCH_RUNS`` times (default 3); the table shows medians, client CPU seconds per GiB and
speed ratios (higher is faster) against ``curl -o``, ``curl -o && sync`` and aria2c at the
same number of connections.

The end-to-end rows run ``python -m uidt --home HOME download URL -o DEST --wait``:

* **cold**: a fresh ``HOME`` per run with no daemon, so the CLI starts the daemon, which starts
  the app worker, which runs the engine: every start-up is in the time;
* **warm**: one ``HOME`` whose daemon the harness started before the first round.

Their CPU includes the daemon's and the worker's (read from ``/proc`` before the harness stops
the daemon with SIGTERM). Every process is a descendant of the harness.

Adding a client (for example the daemon's ``uidt download --wait``) is one line::

    CLIENTS.append(Client("uidt download --wait", lambda url, dest: ["uidt", "download", ...]))

Run: ``python -m bench transfer_bench`` (or ``python -m bench.transfer_bench``).
"""

from __future__ import annotations

import contextlib
import json
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

from bench.uidthome import UidtHome, become_subreaper
from uidt.testing.httpserver import ThreadedTransferTestServer

GiB = 1024**3
MiB = 1024**2

ENGINE_SNIPPET = (
    "import asyncio, sys; from uidt.transfers.download import download; "
    "asyncio.run(download(sys.argv[1], sys.argv[2]))"
)
ENGINE_AIOHTTP = (
    "import asyncio, sys; from uidt.transfers.download import download; "
    "asyncio.run(download(sys.argv[1], sys.argv[2], raw_http=False))"
)
#: Python that makes the engine see no boot id (so every checkpoint is durable).
NO_BOOT_ID = "import uidt.transfers.ledger as p; p.boot_id = lambda: None; "
ENGINE_SYNC_EVERY_CHECKPOINT = (  # as where the system has no boot id (and before 2026-11-29)
    "import asyncio, sys; " + NO_BOOT_ID + "from uidt.transfers.download import download; "
    "asyncio.run(download(sys.argv[1], sys.argv[2]))"
)
ENGINE_NO_MIDWAY_FSYNC = (
    "import asyncio, sys; from uidt.transfers.download import download; "
    "asyncio.run(download(sys.argv[1], sys.argv[2], checkpoint_bytes=1 << 50, "
    "checkpoint_seconds=1e9))"
)


ENGINE_DEFAULT = (
    "uidt engine (default: checkpoint every 32 MiB, fdatasync every 2 MiB, at most 4/s)"
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
    uidt_home: str | None = None  # "cold" or "warm": an end-to-end ``uidt download --wait`` row
    connections: int = 1

    def available(self) -> bool:
        """Whether every executable the client needs is installed."""
        return all(shutil.which(tool) for tool in self.needs)


CLIENTS: list[Client] = [
    Client("curl -o /dev/null (origin ceiling)", lambda u, d: ["curl", "-s", "-o", "/dev/null", u], ("curl",), False),
    Client("curl -o", lambda u, d: ["curl", "-s", "-o", str(d), u], ("curl",)),
    Client("curl -o && sync FILE", lambda u, d: ["sh", "-c", f"curl -s -o '{d}' '{u}' && sync '{d}'"], ("curl", "sync")),
    Client(ENGINE_DEFAULT, lambda u, d: [sys.executable, "-c", ENGINE_SNIPPET, u, str(d)]),
    Client("uidt engine (fdatasync at every checkpoint, as without a boot id)", lambda u, d: [sys.executable, "-c", ENGINE_SYNC_EVERY_CHECKPOINT, u, str(d)]),
    Client("uidt engine (no checkpoint midway: fsync only at the end)", lambda u, d: [sys.executable, "-c", ENGINE_NO_MIDWAY_FSYNC, u, str(d)]),
    Client("uidt engine, aiohttp reader (as for https)", lambda u, d: [sys.executable, "-c", ENGINE_AIOHTTP, u, str(d)]),
    Client("aria2c", lambda u, d: ["aria2c", "-q", "--allow-overwrite=true", "-d", str(d.parent), "-o", d.name, u], ("aria2c",)),
    Client("aria2c -x4 -s4", lambda u, d: ["aria2c", "-q", "-x4", "-s4", "--allow-overwrite=true", "-d", str(d.parent), "-o", d.name, u], ("aria2c",), connections=4),
    Client("uidt download --wait (cold: starts the daemon)", lambda u, d: [], uidt_home="cold"),
    Client("uidt download --wait (daemon running)", lambda u, d: [], uidt_home="warm"),
    Client("uidt download --wait (cold, socket-activated)", lambda u, d: [], ("systemd-socket-activate",), uidt_home="activated"),
]  # fmt: skip
"""The clients measured, in order; the first ``curl -o`` row is the ratio baseline."""

BASELINE = "curl -o"
ENGINE_ROW = ENGINE_DEFAULT
SYNCED_BASELINE = "curl -o && sync FILE"
ARIA2 = {1: "aria2c", 4: "aria2c -x4 -s4"}


def uidt_argv(home: Path, url: str, dest: Path, python: str | None = None) -> list[str]:
    """``python -m uidt --home HOME download URL -o DEST --wait`` (``python``: default this one)."""
    return [python or sys.executable, "-m", "uidt", "--home", str(home), "download", url, "-o", str(dest), "--wait"]  # fmt: skip


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


def settle() -> None:
    """Write back what earlier runs left dirty, so no run pays for the one before it (untimed)."""
    os.sync()


def run_once(argv: list[str], origin: Origin) -> tuple[float, float, float | None]:
    """Run one client; return (wall s, client CPU s, server CPU s or None)."""
    settle()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = origin.cpu_seconds()
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    server_after = origin.cpu_seconds()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    server = None if server_before is None or server_after is None else server_after - server_before
    return wall, cpu, server


def run_client(
    client: Client, origin: Origin, dest: Path, homes: dict[str, UidtHome], work: Path
) -> tuple[float, float, float | None]:
    """One run of ``client``; the end-to-end rows add their daemon's (and worker's) CPU."""
    if client.uidt_home is None:
        return run_once(client.argv(origin.url, dest), origin)
    home = homes.get(client.uidt_home) if client.uidt_home == "warm" else UidtHome(work)
    assert home is not None
    if client.uidt_home == "activated":
        home.listen()  # untimed: what uidt.socket does at login (the daemon is not started yet)
    daemon_before = home.cpu_seconds()
    wall, cpu, server = run_once(uidt_argv(home.path, origin.url, dest), origin)
    cpu += home.cpu_seconds() - daemon_before
    if client.uidt_home in ("cold", "activated"):
        home.stop()
    return wall, cpu, server


def measure(origin: Origin, clients: list[Client], size: int, target: Path, runs: int) -> list[Row]:
    """Round-robin ``runs`` rounds of every client against ``origin``."""
    rows = [Row(client.name) for client in clients]
    homes: dict[str, UidtHome] = {}
    try:
        if any(client.uidt_home == "warm" for client in clients):
            homes["warm"] = UidtHome(target)
            homes["warm"].start()
        for round_number in range(runs):
            for client, row in zip(clients, rows, strict=True):
                dest = target / "download.bin"
                with contextlib.suppress(FileNotFoundError):
                    dest.unlink()
                wall, cpu, server = run_client(client, origin, dest, homes, target)
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
    finally:
        for home in homes.values():
            home.stop()
    return rows


@dataclass
class ResumeRun:
    """One SIGKILL of the engine mid-download and the run that finished the file."""

    killed_at: int  # bytes in the part file when the SIGKILL landed
    checkpoint: int  # the checkpointed offset the next run resumed from
    wall: float  # seconds of the resuming run (a fresh process)


def _part_size(dest: Path) -> int:
    try:
        return dest.with_name(dest.name + ".part").stat().st_size
    except FileNotFoundError:
        return 0


def resume_once(url: str, dest: Path, size: int, fraction: float) -> ResumeRun:
    """Start the engine, SIGKILL it once ``fraction`` of the file is written, time the resume."""
    argv = [sys.executable, "-c", ENGINE_SNIPPET, url, str(dest)]
    settle()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None and _part_size(dest) < size * fraction:
        time.sleep(0.002)  # noqa: TID251 - polling another process's progress
    process.kill()
    process.wait()
    killed_at = _part_size(dest)
    state = json.loads(dest.with_name(dest.name + ".uidt").read_text())
    checkpoint = int(state["offset"])
    settle()
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    if dest.stat().st_size != size:
        raise RuntimeError(f"resumed download has {dest.stat().st_size} bytes, expected {size}")
    dest.unlink()
    return ResumeRun(killed_at, checkpoint, wall)


def resume_report(origin: Origin, runs: list[ResumeRun], full_wall: float, size: int) -> str:
    """A Markdown table: where the kills landed, what was fetched again, what resuming cost."""
    killed = statistics.median(r.killed_at for r in runs)
    lost = statistics.median(r.killed_at - r.checkpoint for r in runs)
    worst = max(r.killed_at - r.checkpoint for r in runs)
    wall = statistics.median(r.wall for r in runs)
    left = statistics.median((size - r.checkpoint) / size for r in runs)
    expected = full_wall * left
    return "\n".join(
        [
            f"resume after SIGKILL, origin: {origin.name}, median of {len(runs)}",
            "",
            "| killed at | written but not checkpointed (fetched again) | worst | resume run s "
            "| full run s x share left | resume overhead s |",
            "|---|---|---|---|---|---|",
            f"| {killed / MiB:.0f} MiB | {lost / MiB:.1f} MiB | {worst / MiB:.1f} MiB | {wall:.2f} "
            f"| {expected:.2f} | {wall - expected:+.2f} |",
        ]
    )


def _speed_ratio(row: Row, rows: list[Row], name: str | None) -> str:
    """How many times faster ``row`` is than the row called ``name`` (``-`` if absent)."""
    other = next((r for r in rows if r.client == name), None)
    if other is None or other is row:
        return "-"
    return f"{statistics.median(other.walls) / statistics.median(row.walls):.2f}x"


def report(origin: Origin, rows: list[Row], clients: list[Client], size: int) -> str:
    """A Markdown table of medians for one origin; ratios are speed ratios (higher is faster)."""
    gib = size / GiB
    lines = [
        f"origin: {origin.name}, {size / MiB:.0f} MiB, median of {len(rows[0].walls)}",
        "",
        "| client | median s | MB/s | client CPU s/GiB | server CPU s/GiB "
        "| vs curl -o | vs curl -o && sync | vs aria2c (same connections) | vs aria2c -x4 -s4 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for client, row in zip(clients, rows, strict=True):
        wall = statistics.median(row.walls)
        cpu = statistics.median(row.cpus) / gib
        server = f"{statistics.median(row.server_cpus) / gib:.2f}" if row.server_cpus else "-"
        aria = ARIA2.get(client.connections) if not client.name.startswith("aria2c") else None
        lines.append(
            f"| {row.client} | {wall:.2f} | {size / wall / 1e6:.0f} | {cpu:.2f} | {server} "
            f"| {_speed_ratio(row, rows, BASELINE)} | {_speed_ratio(row, rows, SYNCED_BASELINE)} "
            f"| {_speed_ratio(row, rows, aria)} | {_speed_ratio(row, rows, ARIA2[4])} |"
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
    become_subreaper()
    wanted = os.environ.get("UIDT_BENCH_CLIENTS")  # e.g. "curl -o,uidt download --wait (cold"
    chosen = [
        c for c in CLIENTS if not wanted or any(c.name.startswith(w) for w in wanted.split(","))
    ]
    clients = [c for c in chosen if c.available()]
    skipped = [c.name for c in chosen if not c.available()]
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
            rows = measure(origin, clients, size, target, runs)
            print(report(origin, rows, clients, size))
            print()
            engine = next((r for r in rows if r.client == ENGINE_ROW), None)
            if engine is not None and os.environ.get("UIDT_BENCH_RESUME", "1") != "0":
                dest = target / "download.bin"
                kills = [resume_once(origin.url, dest, size, 0.5) for _ in range(runs)]
                print(resume_report(origin, kills, statistics.median(engine.walls), size))
                print()


if __name__ == "__main__":
    main()

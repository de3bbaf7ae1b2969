"""A plain ``PUT`` of a large file: uidt's ``sendfile`` path, its ``aiohttp`` path, ``curl -T``.

An nginx on loopback (one worker, WebDAV ``PUT``: it writes the body into its folder, then
renames it) takes the upload. Each client is a fresh process, run ``UIDT_BENCH_RUNS`` times
(default 3) in alternating order:

* **curl -T**: ``curl -sS -T FILE URL``;
* **uidt sendfile**: the engine (:func:`uidt.transfers.upload.upload`, the path
  ``uidt upload`` takes for a plain ``http://`` URL);
* **uidt aiohttp**: the same with ``raw_http=False``, the path every upload took before.

The table gives the median wall time, MiB/s, the client's CPU seconds (user + system of the
process tree) and both as ratios to ``curl -T``, and the same client's wall and CPU for a
1 KiB file after each run (its start-up and requests: what the large file's figures hold
besides the body). The server side is the same for all rows. A
second table checks the rate limit on each path: ``UIDT_BENCH_LIMIT_SIZE`` (default 25M) sent
with a 5 MiB/s limit should take size ÷ 5 MiB/s (less the first tenth of a second's burst).

``UIDT_BENCH_SIZE`` (default here ``1G``), ``UIDT_BENCH_DIR`` (default ``/tmp/uidt-bench``).
Run: ``python -m bench upload_bench`` (skipped without nginx with its DAV module, or curl).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.transfer_bench import MiB, Origin, _free_port, parse_size, run_once, source_file

ENGINE = (
    "import asyncio, sys; from uidt.transfers.upload import upload; "
    "from uidt.transfers.throttle import Throttle; "
    "limit = int(sys.argv[3]) or None; "
    "asyncio.run(upload(sys.argv[1], sys.argv[2], raw_http={raw}, "
    "throttle=Throttle(limit) if limit else None))"
)
LIMIT = 5 * MiB


@dataclass
class Row:
    """One client's runs."""

    name: str
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)


@contextlib.contextmanager
def nginx_put_sink(folder: Path) -> Iterator[str | None]:
    """nginx taking WebDAV ``PUT`` into ``folder``; its base URL (``None``: cannot run)."""
    nginx = shutil.which("nginx")
    if nginx is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="uidt-nginx-put-", dir=folder) as tmp:
        port = _free_port()
        conf = Path(tmp) / "nginx.conf"
        user = "user root root;\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"{user}worker_processes 1; daemon off; pid {tmp}/nginx.pid; "
            f"error_log {tmp}/error.log;\nevents {{}}\n"
            f"http {{ access_log off; client_body_temp_path {tmp}; proxy_temp_path {tmp};\n"
            f"  fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};\n"
            f"  server {{ listen 127.0.0.1:{port}; root {tmp};\n"
            "    client_max_body_size 0; dav_methods PUT DELETE; } }\n"
        )
        process = subprocess.Popen([nginx, "-c", str(conf), "-p", tmp])
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


def argv_for(name: str, source: Path, url: str, limit: int = 0) -> list[str]:
    """The command line of one client."""
    if name == "curl -T":
        return ["curl", "-sS", "-f", "-o", "/dev/null", "-T", str(source), url]
    raw = name == "uidt sendfile"
    return [sys.executable, "-c", ENGINE.format(raw=raw), str(source), url, str(limit)]


def main() -> None:
    if shutil.which("nginx") is None or shutil.which("curl") is None:
        print("nginx or curl is not installed: upload benchmark skipped")
        return
    size = parse_size(os.environ.get("UIDT_BENCH_SIZE", "1G"))
    limited = parse_size(os.environ.get("UIDT_BENCH_LIMIT_SIZE", "25M"))
    runs = int(os.environ.get("UIDT_BENCH_RUNS", "3"))
    folder = Path(os.environ.get("UIDT_BENCH_DIR", "/tmp/uidt-bench"))
    folder.mkdir(parents=True, exist_ok=True)
    source = source_file(folder, size)
    names = ["curl -T", "uidt sendfile", "uidt aiohttp"]
    rows = {name: Row(name) for name in names}
    tiny_rows = {name: Row(name) for name in names}
    limit_rows = {name: Row(name) for name in names[1:]}
    tiny = source_file(folder, 1024)
    with nginx_put_sink(folder) as base:
        if base is None:
            print("nginx did not start: upload benchmark skipped")
            return
        origin = Origin("nginx PUT", base)
        for run in range(runs):
            order = names if run % 2 == 0 else list(reversed(names))
            for name in order:
                url = f"{base}/up-{run}.bin"
                for file, table in ((source, rows), (tiny, tiny_rows)):
                    wall, cpu, _ = run_once(argv_for(name, file, url), origin)
                    table[name].walls.append(wall)
                    table[name].cpus.append(cpu)
                    subprocess.run(["curl", "-sS", "-X", "DELETE", url], capture_output=True)
        small = source_file(folder, limited)
        for name in names[1:]:
            wall, cpu, _ = run_once(argv_for(name, small, f"{base}/limited.bin", LIMIT), origin)
            limit_rows[name].walls.append(wall)
            limit_rows[name].cpus.append(cpu)
    print(report(rows, tiny_rows, limit_rows, size, limited, runs))


def report(
    rows: dict[str, Row],
    tiny_rows: dict[str, Row],
    limit_rows: dict[str, Row],
    size: int,
    limited: int,
    runs: int,
) -> str:
    """The markdown tables."""
    curl = rows["curl -T"]
    curl_wall, curl_cpu = statistics.median(curl.walls), statistics.median(curl.cpus)
    lines = [
        f"upload of {size // MiB} MiB to nginx (WebDAV PUT) on loopback, {runs} runs, medians; "
        f"load {os.getloadavg()[0]:.1f}",
        "",
        "| client | wall s | MiB/s | CPU s | wall ÷ curl | CPU ÷ curl | 1 KiB: wall s | CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows.values():
        wall, cpu = statistics.median(row.walls), statistics.median(row.cpus)
        tiny = tiny_rows[row.name]
        lines.append(
            f"| {row.name} | {wall:.2f} | {size / MiB / wall:.0f} | {cpu:.2f} | "
            f"{wall / curl_wall:.2f} | {cpu / curl_cpu:.2f} | "
            f"{statistics.median(tiny.walls):.2f} | {statistics.median(tiny.cpus):.2f} |"
        )
    expected = limited / LIMIT
    lines += [
        "",
        f"rate limit: {limited // MiB} MiB at {LIMIT // MiB} MiB/s (expected {expected:.1f} s)",
        "",
        "| path | wall s (whole process) | ÷ expected |",
        "|---|---:|---:|",
    ]
    for row in limit_rows.values():
        wall = statistics.median(row.walls)
        lines.append(f"| {row.name} | {wall:.2f} | {wall / expected:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

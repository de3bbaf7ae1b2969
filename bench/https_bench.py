"""HTTPS download throughput: ``uidt download --wait`` and the engine against ``curl -o``.

An nginx on loopback (one worker; its ``sendfile`` does not apply to TLS) serves one generated file
(``UIDT_BENCH_SIZE``, default ``1G``, kept in ``UIDT_BENCH_DIR``) over HTTPS with a certificate
signed by a CA made for the run (``openssl``); every client trusts that CA only (``--cacert``).
The clients run as fresh processes in alternating order, ``UIDT_BENCH_RUNS`` rounds (default
5). The table gives the median wall time, the median CPU seconds per GiB of the client's whole
process tree (for ``uidt download --wait``: the command, the daemon and its transfer worker)
and each one's ratio to ``curl -o`` (median of the per-round ratios: each round's pair ran
back to back, so a burst of load elsewhere hits both). The load average at the start and the
end is printed with it, as CPU per byte is the figure that holds on a busy machine.

Run: ``python -m bench https_bench`` (skipped without nginx, curl or openssl).
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

from bench.transfer_bench import (
    GiB,
    MiB,
    Origin,
    _free_port,
    parse_size,
    run_once,
    source_file,
)
from bench.uidthome import UidtHome, become_subreaper

ENGINE = (
    "import asyncio, sys; from uidt.transfers.download import download; "
    "from uidt.transfers.request import RequestOptions; "
    "asyncio.run(download(sys.argv[1], sys.argv[2], raw_http={raw}, "
    "request=RequestOptions(cacert=sys.argv[3])))"
)


@dataclass
class Row:
    """One client's runs."""

    name: str
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)


def make_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.pem", "key.pem", "r.csr", "cert.pem"))  # fmt: skip
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    quiet = {"check": True, "capture_output": True}
    subprocess.run(["openssl", "req", "-x509", *ec, "-days", "2", "-subj", "/CN=uidt bench CA", "-keyout", str(ca_key), "-out", str(ca)], **quiet)  # type: ignore[call-overload]  # fmt: skip
    subprocess.run(["openssl", "req", *ec, "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(csr)], **quiet)  # type: ignore[call-overload]  # fmt: skip
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert)], **quiet)  # type: ignore[call-overload]  # fmt: skip
    return ca, cert, key


@contextlib.contextmanager
def nginx_https(source: Path, cert: Path, key: Path) -> Iterator[Origin]:
    """nginx serving ``source`` over HTTPS on loopback (TLS 1.2/1.3, the default ciphers)."""
    nginx = shutil.which("nginx")
    assert nginx is not None
    with tempfile.TemporaryDirectory(prefix="uidt-nginx-tls-") as tmp:
        port = _free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(
            f"worker_processes 1; daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log;\n"
            "events {}\n"
            f"http {{ access_log off; sendfile on; client_body_temp_path {tmp}; proxy_temp_path {tmp};\n"
            f"  fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};\n"
            f"  server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {cert}; ssl_certificate_key {key};\n"
            f"    root {source.parent}; }} }}\n"
        )  # fmt: skip
        process = subprocess.Popen([nginx, "-c", str(conf), "-p", tmp])
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
            yield Origin("nginx https", f"https://127.0.0.1:{port}/{source.name}")
        finally:
            process.terminate()
            process.wait(10)


def clients(ca: Path, home: UidtHome) -> dict[str, list[str] | None]:
    """Row name → argv builder input (``None``: the warm ``uidt download --wait``)."""
    return {
        "curl -o": ["curl", "-s", "--cacert", str(ca), "-o"],
        # as durable as uidt's file when it reads complete (fsync of the file, as `sync FILE`)
        "curl -o && sync FILE": ["sh", "-c", f'curl -s --cacert "{ca}" -o "$0" "$1" && sync "$0"'],
        "uidt download --wait (daemon running)": None,
        "uidt engine, own TLS reader": [sys.executable, "-c", ENGINE.format(raw=True)],
        "uidt engine, aiohttp reader": [sys.executable, "-c", ENGINE.format(raw=False)],
    }


def argv_for(name: str, base: list[str] | None, url: str, dest: Path, ca: Path, home: Path) -> list[str]:  # fmt: skip
    """The command line of one run."""
    if base is None:
        return [sys.executable, "-m", "uidt", "--home", str(home), "download", url, "-o", str(dest), "--cacert", str(ca), "--wait"]  # fmt: skip
    if name.startswith("curl"):
        return [*base, str(dest), url]
    return [*base, url, str(dest), str(ca)]


def loadavg() -> str:
    """The 1-minute load average now."""
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    """Run the HTTPS benchmark and print its table."""
    if not all(shutil.which(t) for t in ("nginx", "curl", "openssl")):
        print("nginx, curl or openssl is not installed: HTTPS benchmark skipped")
        return
    size = parse_size(os.environ.get("UIDT_BENCH_SIZE", "1G"))
    runs = int(os.environ.get("UIDT_BENCH_RUNS", "5"))
    work = Path(os.environ.get("UIDT_BENCH_DIR", "/tmp/uidt-bench"))
    (work / "srv").mkdir(parents=True, exist_ok=True)
    target = work / "dl"
    target.mkdir(exist_ok=True)
    source = source_file(work / "srv", size)
    become_subreaper()
    wanted = os.environ.get("UIDT_BENCH_CLIENTS")
    with tempfile.TemporaryDirectory(prefix="uidt-bench-ca-") as tmp, contextlib.ExitStack() as stack:  # fmt: skip
        ca, cert, key = make_ca(Path(tmp))
        origin = stack.enter_context(nginx_https(source, cert, key))
        home = UidtHome(target)
        home.start()
        stack.callback(home.stop)
        chosen = {
            n: b for n, b in clients(ca, home).items()
            if n == "curl -o" or not wanted or any(n.startswith(w) for w in wanted.split(","))
        }  # fmt: skip
        rows = {name: Row(name) for name in chosen}
        load_start = loadavg()
        for round_number in range(runs):
            names = list(chosen) if round_number % 2 == 0 else list(reversed(chosen))
            for name in names:
                dest = target / "download.bin"
                with contextlib.suppress(FileNotFoundError):
                    dest.unlink()
                argv = argv_for(name, chosen[name], origin.url, dest, ca, home.path)
                daemon_before = home.cpu_seconds()
                wall, cpu, _ = run_once(argv, origin)
                if chosen[name] is None:
                    cpu += home.cpu_seconds() - daemon_before
                if dest.stat().st_size != size:
                    raise RuntimeError(f"{name}: wrote {dest.stat().st_size} bytes, not {size}")
                dest.unlink()
                rows[name].walls.append(wall)
                rows[name].cpus.append(cpu)
                print(f"  round {round_number + 1} {name}: {wall:.2f} s, {cpu:.2f} CPU s", file=sys.stderr)  # fmt: skip
        print(report(origin, list(rows.values()), size, runs, load_start, loadavg()))


def report(origin: Origin, rows: list[Row], size: int, runs: int, load_start: str, load_end: str) -> str:  # fmt: skip
    """The Markdown table; ``vs curl -o`` is the median of the per-round speed ratios."""
    curl = rows[0]
    gib = size / GiB
    lines = [
        f"HTTPS, uidt vs curl; origin: {origin.name}, {size / MiB:.0f} MiB, {runs} alternating rounds, "
        f"load average {load_start} at the start, {load_end} at the end",
        "",
        "| client | median s | MB/s | client CPU s/GiB | vs curl -o (wall) | vs curl -o (CPU) |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for row in rows:
        wall = statistics.median(row.walls)
        cpu = statistics.median(row.cpus) / gib
        pairs = statistics.median(c / w for c, w in zip(curl.walls, row.walls, strict=True))
        cpu_ratio = statistics.median(curl.cpus) / statistics.median(row.cpus)
        speed = size / wall / 1e6
        lines.append(
            f"| {row.name} | {wall:.2f} | {speed:.0f} | {cpu:.2f} | {pairs:.2f}x | {cpu_ratio:.2f}x |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()

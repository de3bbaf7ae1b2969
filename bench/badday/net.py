"""The bad day's network: per client a lane of two namespaces joined by a veth pair.

A lane is ``<prefix>s<i>`` (the server: nginx on 127.0.0.1:8080 and the fault proxy on the
veth address, port 80, the outgoing rate shaped by ``tc tbf``) and ``<prefix>c<i>`` (the
client, with the other end of the veth and **no default route**), ``<prefix>`` being
``ubd<pid>``. The lane's /30 lies in a /24 private to this run, for which the root namespace
gets an ``unreachable`` route, so nothing outside the veth pair can ever carry its traffic.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

PREFIX = "ubd"
#: Every process the harness starts carries this variable (the run's prefix), so a cleanup
#: finds the ones a crash left behind.
ENV_TAG = "UIDT_BADDAY_RUN"
NGINX_PORT = 8080
PROXY_PORT = 80


class NetError(RuntimeError):
    """A command of the network set-up failed, or a safety check did not hold."""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise NetError(f"{' '.join(args)}: {result.stderr.strip() or result.returncode}")
    return result


def run_prefix(pid: int | None = None) -> str:
    return f"{PREFIX}{os.getpid() if pid is None else pid}"


def subnet_base(pid: int) -> str:
    """The run's private /24: ``10.200.N`` with N from the pid."""
    return f"10.200.{pid % 250}"


@dataclass(frozen=True, slots=True)
class Lane:
    prefix: str
    index: int
    base: str  # "10.200.N"

    @property
    def server_ns(self) -> str:
        return f"{self.prefix}s{self.index}"

    @property
    def client_ns(self) -> str:
        return f"{self.prefix}c{self.index}"

    @property
    def server_if(self) -> str:
        return f"{self.prefix}s{self.index}"

    @property
    def client_if(self) -> str:
        return f"{self.prefix}c{self.index}"

    @property
    def server_ip(self) -> str:
        return f"{self.base}.{4 * self.index + 1}"

    @property
    def client_ip(self) -> str:
        return f"{self.base}.{4 * self.index + 2}"

    def in_server(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.server_ns, *cmd]

    def in_client(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.client_ns, *cmd]

    def create(self, mbit: float) -> None:
        sh("ip", "netns", "add", self.server_ns)
        sh("ip", "netns", "add", self.client_ns)
        sh("ip", "link", "add", self.server_if, "type", "veth", "peer", "name", self.client_if)
        sh("ip", "link", "set", self.server_if, "netns", self.server_ns)
        sh("ip", "link", "set", self.client_if, "netns", self.client_ns)
        for ns, link, ip in (
            (self.server_ns, self.server_if, self.server_ip),
            (self.client_ns, self.client_if, self.client_ip),
        ):
            sh("ip", "-n", ns, "addr", "add", f"{ip}/30", "dev", link)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", link, "up")
        self.set_rate(mbit)

    def set_rate(self, mbit: float) -> None:
        """Shape what the server sends (the download direction) to ``mbit`` Mbit/s."""
        sh(
            *self.in_server("tc", "qdisc", "replace", "dev", self.server_if, "root", "tbf"),
            "rate",
            f"{mbit}mbit",
            "burst",
            "64kb",
            "latency",
            "200ms",
        )

    def set_link(self, up: bool) -> None:
        sh("ip", "-n", self.client_ns, "link", "set", self.client_if, "up" if up else "down")

    def check_route(self) -> None:
        """The server's address must resolve to the veth in the client namespace, nowhere else."""
        out = sh(*self.in_client("ip", "route", "get", self.server_ip)).stdout
        if f"dev {self.client_if} " not in out + " ":
            raise NetError(f"{self.server_ip} does not route over {self.client_if}: {out!r}")
        routes = sh("ip", "-n", self.client_ns, "route", "show", "default").stdout.strip()
        if routes:
            raise NetError(f"the client namespace has a default route: {routes!r}")

    def destroy(self) -> None:
        for ns in (self.server_ns, self.client_ns):
            kill_in_namespace(ns)
            sh("ip", "netns", "del", ns, check=False)


def kill_in_namespace(ns: str) -> None:
    """SIGKILL every process left in the namespace ``ns``."""
    result = sh("ip", "netns", "pids", ns, check=False)
    for pid in result.stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def add_guard_route(base: str) -> None:
    sh("ip", "route", "replace", "unreachable", f"{base}.0/24")


def remove_guard_route(base: str) -> None:
    sh("ip", "route", "del", "unreachable", f"{base}.0/24", check=False)


def tagged_processes(tag: str | None = None) -> list[psutil.Process]:
    """Processes carrying :data:`ENV_TAG` (equal to ``tag`` if given)."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            value = proc.environ().get(ENV_TAG)
            if value is not None and (tag is None or value == tag):
                found.append(proc)
    return found


def cleanup(prefix: str | None = None) -> list[str]:
    """Remove namespaces, processes and guard routes of runs with ``prefix`` (all runs if None).

    Returns what was removed, one line each.
    """
    removed = []
    for proc in tagged_processes(prefix):
        with contextlib.suppress(psutil.Error):
            proc.kill()
            removed.append(f"process {proc.pid}")
    names = sh("ip", "netns", "list", check=False).stdout.split("\n")
    for line in names:
        name = line.split(" ")[0]
        if re.fullmatch(rf"{PREFIX}\d+[sc]\d+", name) and (
            prefix is None or name.startswith(prefix)
        ):
            kill_in_namespace(name)
            sh("ip", "netns", "del", name, check=False)
            removed.append(f"namespace {name}")
    if prefix is None:
        for line in sh("ip", "route", "show", "type", "unreachable", check=False).stdout.split(
            "\n"
        ):
            match = re.match(r"unreachable (10\.200\.\d+)\.0/24", line)
            if match:
                remove_guard_route(match.group(1))
                removed.append(f"route {line.strip()}")
    return removed


def namespaces_permitted() -> str | None:
    """``None`` if this process may create network namespaces, else why not (one line)."""
    probe = f"{run_prefix()}probe"
    result = sh("ip", "netns", "add", probe, check=False)
    if result.returncode != 0:
        return f"network namespaces are not permitted here ({result.stderr.strip()})"
    sh("ip", "netns", "del", probe, check=False)
    return None


def write_nginx_conf(directory: Path, root: Path) -> Path:
    conf = directory / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {directory}/nginx-access.log;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    sendfile on;
    keepalive_timeout 30;
    types {{ application/octet-stream bin; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{NGINX_PORT};
        root {root};
    }}
}}
"""
    )
    return conf

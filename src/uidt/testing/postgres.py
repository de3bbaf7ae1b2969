"""A throwaway PostgreSQL cluster for tests: ``initdb`` + ``pg_ctl`` in a temporary folder.

The cluster listens only on a unix socket in its own folder (no TCP), on a free port number (the
number names the socket file), with ``trust`` authentication for its own socket. It runs as the
``postgres`` user when the tests run as root (PostgreSQL refuses to run as root). Each test gets
a database of its own from :meth:`TemporaryCluster.new_database`.

A test of partitions may also have it listen on one TCP address (:meth:`TemporaryCluster.start`'s
``tcp_address``, e.g. the root end of a veth pair, :mod:`uidt.testing.partition`): clients on
directly connected networks (``samenet``) are then trusted too, and
:meth:`TemporaryCluster.over_tcp` turns a database's URL into one over that address.

``fsync`` is off in this cluster unless asked for: it only ever holds test data, and the tests of
durability check *when* a commit happens (before ``put_job`` returns), not the disk under it.
Benchmarks that compare commit rates with SQLite turn it on.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

__all__ = ["ClusterUnavailable", "TemporaryCluster", "find_bindir"]


class ClusterUnavailable(Exception):
    """No PostgreSQL cluster can be started here (the message says why, in one line)."""


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on ``PATH`` or Debian's versioned folder."""
    on_path = shutil.which("initdb")
    if on_path is not None and shutil.which("pg_ctl") is not None:
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_of, reverse=True)
    return Path(found[0]).parent if found else None


def _version_of(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TemporaryCluster:
    """A PostgreSQL server in a temporary folder; :meth:`start` it, :meth:`stop` it."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.port = 0
        self._bindir: Path | None = None
        self._user: str | None = None
        self._counter = itertools.count(1)
        self._options = ""
        self.tcp_address: str | None = None

    @property
    def socket_dir(self) -> Path:
        assert self.folder is not None
        return self.folder / "socket"

    def start(
        self, timeout_s: float = 30, *, fsync: bool = False, tcp_address: str | None = None
    ) -> None:
        """Create and start the cluster (``fsync``: on for benchmarks that compare commits;
        ``tcp_address``: listen there too, see the module doc).

        Raises:
            ClusterUnavailable: PostgreSQL is not installed, or it could not start.
        """
        bindir = find_bindir()
        if bindir is None:
            raise ClusterUnavailable("PostgreSQL is not installed (no initdb)")
        self._bindir = bindir
        self._user = None
        owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                raise ClusterUnavailable("running as root and there is no postgres user") from None
            self._user, owner = "postgres", (entry.pw_uid, entry.pw_gid)
        # /tmp when there is one: a unix socket's path must stay under ~100 bytes, which a long
        # TMPDIR would break
        base = "/tmp" if os.path.isdir("/tmp") else None
        self.folder = Path(tempfile.mkdtemp(prefix=f"uidt-pg-{os.getpid()}-", dir=base))
        (self.folder / "socket").mkdir()
        if owner is not None:
            for path in (self.folder, self.folder / "socket"):
                os.chown(path, *owner)
        self.port = _free_port()
        data = self.folder / "data"
        try:
            self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
            durable = "on" if fsync else "off"
            self.tcp_address = tcp_address
            if tcp_address is not None:
                with (data / "pg_hba.conf").open("a") as hba:
                    hba.write("host all all samenet trust\n")
            self._options = (
                f"-k {self.socket_dir} -p {self.port} "
                f"-c listen_addresses='{tcp_address or ''}' "
                f"-c fsync={durable} -c full_page_writes={durable} -c max_connections=100"
            )
            self.start_server(timeout_s)
        except ClusterUnavailable:
            self.stop()
            raise

    def start_server(self, timeout_s: float = 30) -> None:
        """Start the server of a created cluster (again, after :meth:`stop_server`)."""
        assert self.folder is not None
        self._run(
            "pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "server.log"),
            "-o", self._options, "-w", "-t", str(int(timeout_s)), "start",
        )  # fmt: skip

    def stop_server(self) -> None:
        """Stop the server at once (``-m immediate``: as if it crashed), keeping its data."""
        assert self.folder is not None
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")

    def _run(self, tool: str, *args: str) -> None:
        assert self._bindir is not None
        try:
            done = subprocess.run(
                [str(self._bindir / tool), *args],
                capture_output=True,
                text=True,
                user=self._user,
                cwd=self.folder,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise ClusterUnavailable(f"{tool} could not run: {exc}") from exc
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
            raise ClusterUnavailable(f"{tool} failed: {last[0]}")

    def dsn(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL of ``database`` over the cluster's unix socket."""
        return (
            f"postgresql://postgres@/{database}"
            f"?host={quote(str(self.socket_dir), safe='')}&port={self.port}"
        )

    def over_tcp(self, url: str) -> str:
        """The URL of the same database over :attr:`tcp_address` (the cluster must listen there)."""
        assert self.tcp_address is not None
        database = url.split("?", 1)[0].rsplit("/", 1)[1]
        return f"postgresql://postgres@{self.tcp_address}:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database; returns its ``postgresql://`` URL."""
        import psycopg

        name = f"uidt_test_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a name we made: no quoting issue
        return self.dsn(name)

    def stop(self) -> None:
        """Stop the server and remove its folder (idempotent)."""
        if self.folder is None:
            return
        data = self.folder / "data"
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(ClusterUnavailable):
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

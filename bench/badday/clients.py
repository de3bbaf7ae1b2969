"""The clients of the bad day: uidt and the peers a user would otherwise reach for.

Each peer runs with its best retry flags and, when the harness has to start it again (after a
kill, or after it gave up), with the same command line, which resumes the way its manual says.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

UIDT = "uidt"


@dataclass(frozen=True, slots=True)
class Peer:
    name: str
    tool: str
    #: The command line: (url, destination) -> argv. Run again as is to resume.
    argv: Callable[[str, Path], list[str]]
    flags: str  # for the report


def _curl(url: str, dest: Path) -> list[str]:
    return [
        "curl", "-sS", "--fail", "-o", str(dest), "-C", "-",
        "--retry", "1000", "--retry-all-errors", "--retry-delay", "1", "--retry-max-time", "0",
        "--connect-timeout", "5", "--speed-limit", "1", "--speed-time", "10",
        url,
    ]  # fmt: skip


def _wget(url: str, dest: Path) -> list[str]:
    return [
        "wget", "-q", "-c", "-O", str(dest),
        "--tries=0", "--retry-connrefused", "--retry-on-http-error=429,500,502,503,504",
        "--waitretry=1", "--timeout=10", "--read-timeout=10",
        url,
    ]  # fmt: skip


def _aria2c(url: str, dest: Path) -> list[str]:
    return [
        "aria2c", "--console-log-level=warn", "--summary-interval=0",
        "--show-console-readout=false", "--continue=true", "--max-tries=0", "--retry-wait=1",
        "--timeout=10", "--connect-timeout=5", "--lowest-speed-limit=0",
        "--max-connection-per-server=1", "--split=1", "--auto-file-renaming=false",
        "--allow-overwrite=false", "--file-allocation=none",
        "-d", str(dest.parent), "-o", dest.name,
        url,
    ]  # fmt: skip


def _flags(argv: list[str]) -> str:
    return " ".join(a for a in argv if a not in ("URL", "DEST"))


PEERS = (
    Peer("curl", "curl", _curl, _flags(_curl("URL", Path("DEST")))),
    Peer("wget", "wget", _wget, _flags(_wget("URL", Path("DEST")))),
    Peer("aria2c", "aria2c", _aria2c, _flags(_aria2c("URL", Path("d/DEST")))),
)


def missing_tools(names: list[str]) -> dict[str, str]:
    """Clients among ``names`` whose program is not installed, with one line saying so."""
    missing = {}
    for peer in PEERS:
        if peer.name in names and shutil.which(peer.tool) is None:
            missing[peer.name] = (
                f"{peer.name}: skipped, `{peer.tool}` is not installed (bench/install-tools)"
            )
    return missing


def uidt_argv(home: Path, *args: str) -> list[str]:
    """``python -m uidt --home HOME ARGS`` with this interpreter."""
    return [sys.executable, "-m", "uidt", "--home", str(home), *args]


def peer_named(name: str) -> Peer:
    for peer in PEERS:
        if peer.name == name:
            return peer
    raise KeyError(name)

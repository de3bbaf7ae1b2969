"""The app worker's command line: ``--fd N --app PKG [--channels a,b] [--idle-timeout S] …``.

Parsed by hand (no argparse: it costs every cold start a few milliseconds); a bad command line
exits with status 2 and the usage on stderr.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

USAGE = (
    "usage: python -m uidt.host.worker --fd N --app PACKAGE [--channels a,b] "
    "[--idle-timeout SECONDS] [--preload module:Class,...]"
)
_OPTIONS = {"--fd": int, "--app": str, "--channels": str, "--idle-timeout": float, "--preload": str}


class WorkerArgs:
    """The worker's command line (written by ``uidt.host.command.worker_command``)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.fd: int = options["--fd"]
        self.app: str = options["--app"]
        self.channels: str = options.get("--channels", "")
        self.idle_timeout: float = options.get("--idle-timeout", 60.0)
        self.preload: str = options.get("--preload", "")


def parse_args(argv: list[str]) -> WorkerArgs:
    """``--name value`` pairs (no argparse: it costs every cold start a few milliseconds).

    Raises:
        SystemExit: (status 2, the usage on stderr) an unknown option, a missing or malformed
            value, or no ``--fd`` / ``--app``.
    """
    options: dict[str, Any] = {}
    rest = list(argv)
    while rest:
        name = rest.pop(0)
        name, eq, inline = name.partition("=")
        kind = _OPTIONS.get(name)
        if kind is None or (not eq and not rest):
            _usage(f"unknown option or missing value: {name}")
        value = inline if eq else rest.pop(0)
        try:
            options[name] = kind(value)
        except ValueError:
            _usage(f"{name} {value!r} is not a valid {kind.__name__}")
    missing = [name for name in ("--fd", "--app") if name not in options]
    if missing:
        _usage(f"required: {', '.join(missing)}")
    return WorkerArgs(options)


def _usage(problem: str) -> NoReturn:
    print(f"{USAGE}\nuidt.host.worker: error: {problem}", file=sys.stderr)
    raise SystemExit(2)

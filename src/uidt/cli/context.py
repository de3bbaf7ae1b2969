"""State shared by the ``uidt`` commands: the home, JSON output, and the daemon connection."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from uidt.home.paths import Paths, resolve_paths

if TYPE_CHECKING:
    from uidt.app.connection import DaemonConnection


@dataclass
class CliContext:
    home: str | None
    json_output: bool
    daemon_args: tuple[str, ...] = ()
    _connection: DaemonConnection | None = field(default=None, repr=False)

    @property
    def paths(self) -> Paths:
        return resolve_paths(self.home)

    def connection(self, *, autostart: bool = True) -> DaemonConnection:
        if self._connection is None or self._connection.autostart != autostart:
            # Loaded here, not at the top: ``uidt --version`` or ``--help`` needs no h11.
            from uidt.app.connection import DaemonConnection

            self._connection = DaemonConnection(
                self.paths, autostart=autostart, daemon_args=self.daemon_args
            )
        return self._connection

    def request(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        return self.connection().request(method, path, body=body, query=query)


pass_cli = click.make_pass_decorator(CliContext)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")

"""State shared by the ``uidt`` commands: the home, JSON output, and the daemon connection."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import click

from uidt.app.connection import DaemonConnection
from uidt.home.paths import Paths, resolve_paths


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

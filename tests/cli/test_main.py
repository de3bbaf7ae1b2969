"""The ``uidt`` command group: sub-commands load lazily, and start-up imports stay light."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from uidt.cli.main import COMMANDS, cli

#: Modules the CLI must not import before a command needs them (each costs start-up time).
HEAVY = ("aiohttp", "rich", "http.client", "uidt.daemon.main", "uidt.server", "psutil")


def _imported_after(code: str) -> list[str]:
    """The :data:`HEAVY` modules a fresh interpreter has imported after running ``code``."""
    probe = f"{code}\nimport sys\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return [m for m in done.stdout.strip().split(",") if m]


def test_importing_the_cli_imports_nothing_heavy() -> None:
    assert _imported_after("import uidt.cli.main") == []


def test_the_download_command_loads_without_rich_aiohttp_or_the_daemon() -> None:
    code = (
        "import click, uidt.cli.main as m\n"
        "ctx = click.Context(m.cli)\n"
        "assert m.cli.get_command(ctx, 'download') is not None"
    )
    assert _imported_after(code) == []


def test_every_command_is_listed_and_loads() -> None:
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command)
        assert command.name == name
    assert cli.get_command(ctx, "no-such-command") is None


def test_help_lists_the_lazy_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output

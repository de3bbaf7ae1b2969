"""``uidt … --help`` answers from the command line alone: it never starts or asks a daemon."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from uidt.cli import launch
from uidt.cli.main import cli
from uidt.daemon.shell import USAGE


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))


def _daemon_traces(home: Path) -> list[str]:
    """Whatever a started (or contacted) daemon leaves in its home."""
    if not home.exists():
        return []
    return sorted(p.name for p in home.rglob("*") if p.name in ("uidt.sock", "daemon.pid"))


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    yield home
    pid_file = home / "daemon.pid"
    if pid_file.exists():  # a failing test must not leave a daemon behind
        os.kill(int(pid_file.read_text()), signal.SIGTERM)


COMMAND_PATHS = [(), *_command_paths(cli)]
HELP_ARGS = [[*path, "--help"] for path in COMMAND_PATHS] + [
    ["download", "http://127.0.0.1:9/f", "--help"],
    ["cmd", "-h"],
    ["cmd", "help"],
    ["cmd"],
]


@pytest.mark.parametrize("args", HELP_ARGS, ids=" ".join)
def test_help_starts_no_daemon(args: list[str], home: Path) -> None:
    argv = ["--home", str(home), *args]
    launch.start_daemon_early(argv)
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output or "usage" in result.output or "commands:" in result.output
    assert _daemon_traces(home) == []


def test_cmd_help_prints_the_verbs_of_cmd_jobscheduler(home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(home), "cmd", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert USAGE in done.stdout
    assert "started the daemon" not in done.stderr
    assert _daemon_traces(home) == []


def _words(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def test_daemon_help_and_cli_md_name_the_same_store_urls() -> None:
    result = CliRunner().invoke(cli, ["daemon", "--help"])
    assert result.exit_code == 0
    cli_md = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
    for text in (_words(result.output), _words(cli_md.read_text())):
        for url in ("sqlite:///", "sqlite://", "memory://"):
            assert url in text
        assert "postgresql://… (one store shared by several hosts, with leases" in text

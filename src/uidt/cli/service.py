"""``uidt service install | uninstall | status``: start the daemon with the user's session.

See :mod:`uidt.autostart.install` for what each does; each says what it did and how to undo it.
"""

from __future__ import annotations

import sys

import click

from uidt.autostart.install import Locations, Method, Outcome, install, status, uninstall
from uidt.cli.context import CliContext, pass_cli, print_json

#: ``uidt service status`` exits with this when nothing is installed (as ``systemctl``'s 3).
EXIT_NOT_INSTALLED = 3


@click.group()
def service() -> None:
    """Start the daemon with your session: systemd user units, else an XDG autostart entry."""


@service.command("install")
@pass_cli
def install_command(cli: CliContext) -> None:
    """Install and enable uidt.socket + uidt.service (or the XDG autostart entry)."""
    _say(cli, install(cli.paths, Locations.from_env()))


@service.command("uninstall")
@pass_cli
def uninstall_command(cli: CliContext) -> None:
    """Disable and remove what `uidt service install` put in place."""
    _say(cli, uninstall(Locations.from_env()))


@service.command("status")
@pass_cli
def status_command(cli: CliContext) -> None:
    """What is installed, what systemd says of it, and whether a daemon answers (exit 3: none)."""
    found = status(cli.paths, Locations.from_env())
    if cli.json_output:
        print_json(found.as_json())
    elif found.method is Method.NONE:
        click.echo("uidt service: not installed (`uidt service install` installs it)")
    else:
        click.echo(f"uidt service: installed ({found.method})")
        for path in found.files:
            click.echo(f"  file:    {path}")
        if found.socket_path is not None:
            click.echo(f"  socket:  {found.socket_path}")
        if found.enabled is not None:
            click.echo(f"  enabled: {found.enabled}")
        if found.active is not None:
            click.echo(f"  active:  {found.active}")
        click.echo(f"  daemon:  {_daemon_words(found.daemon)} at {cli.paths.socket}")
    if found.method is Method.NONE:
        sys.exit(EXIT_NOT_INSTALLED)


def _daemon_words(use: str) -> str:
    return {"free": "none answers", "uidt": "answers", "other": "another program answers"}[use]


def _say(cli: CliContext, outcome: Outcome) -> None:
    if cli.json_output:
        print_json(
            {"method": str(outcome.method), "changed": outcome.changed, "said": outcome.lines}
        )
        return
    for line in outcome.lines:
        click.echo(line)

"""The ``uidt`` command line (``python -m uidt`` is the same program)."""

from __future__ import annotations

import sys

import click

from uidt.cli.apps import apps
from uidt.cli.context import CliContext
from uidt.cli.daemon import daemon
from uidt.cli.jobs import cmd, dumpsys, jobs, stop, ui
from uidt.cli.transfer import download, upload
from uidt.errors import UidtError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    envvar="UIDT_HOME",
    default=None,
    metavar="DIR",
    help="Directory holding the socket, store, config and logs (default: XDG locations).",
)
@click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")
@click.version_option(package_name="uidt")
@click.pass_context
def cli(ctx: click.Context, home: str | None, json_output: bool) -> None:
    """uidt: user-initiated data transfer jobs (Android's UIDT jobs for Python)."""
    ctx.obj = CliContext(home=home, json_output=json_output)


for command in (apps, daemon, jobs, stop, ui, dumpsys, cmd, download, upload):
    cli.add_command(command)


def main() -> None:
    """Entry point of the ``uidt`` script."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except UidtError as exc:
        click.echo(f"uidt: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)

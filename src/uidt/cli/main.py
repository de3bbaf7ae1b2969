"""The ``uidt`` command line (``python -m uidt`` is the same program)."""

from __future__ import annotations

import importlib
import sys

import click

from uidt.cli.context import CliContext
from uidt.errors import UidtError

#: Where each sub-command lives (``module:attribute``). A command's module is imported only when
#: that command runs (or ``--help`` lists them all), so ``uidt download`` does not pay for the
#: tables of ``uidt jobs`` or the daemon's imports.
COMMANDS = {
    "apps": "uidt.cli.apps:apps",
    "daemon": "uidt.cli.daemon:daemon",
    "jobs": "uidt.cli.jobs:jobs",
    "stop": "uidt.cli.jobs:stop",
    "notifications": "uidt.cli.notifications:notifications",
    "notification": "uidt.cli.notifications:notification",
    "pause": "uidt.cli.notifications:pause",
    "resume": "uidt.cli.notifications:resume",
    "cancel": "uidt.cli.notifications:cancel",
    "ui": "uidt.cli.jobs:ui",
    "dumpsys": "uidt.cli.dumpsys:dumpsys",
    "cmd": "uidt.cli.jobs:cmd",
    "download": "uidt.cli.transfer:download",
    "upload": "uidt.cli.transfer:upload",
    "follow": "uidt.cli.follow:follow_command",
    "service": "uidt.cli.service:service",
    "sim": "uidt.cli.sim:sim",
    "timeline": "uidt.cli.timeline:timeline",
}


class LazyGroup(click.Group):
    """A command group that imports each sub-command's module on first use."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            module_name, _, attribute = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return command


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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


def main() -> None:
    """Entry point of the ``uidt`` script."""
    try:
        # Named, not guessed from argv: `python -m uidt` is the same program, and shell
        # completion (click's own: `_UIDT_COMPLETE=bash_source uidt`) works either way.
        cli.main(prog_name="uidt", standalone_mode=False)
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

"""``uidt daemon [start|stop|status|restart]``: run, inspect and stop the home's daemon.

``uidt daemon`` alone starts it, as ``uidt daemon start`` does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from uidt.cli.context import CliContext, pass_cli, print_json
from uidt.cli.daemonctl import (
    STOP_TIMEOUT_S,
    StartOptions,
    check_options,
    differences,
    running_status,
    status_lines,
    stop_daemon,
)
from uidt.daemon.main import DaemonOptions, parse_sets, run
from uidt.errors import DaemonError

#: ``uidt daemon status`` exits with this when no daemon runs for the home (as ``systemctl``).
EXIT_NOT_RUNNING = 3

F = TypeVar("F", bound=Callable[..., Any])


def start_options(*, foreground: bool = True) -> Callable[[F], F]:
    """The options of starting a daemon (``uidt daemon``, ``start``, ``restart``)."""

    def decorate(func: F) -> F:
        options = [
            click.option(
                "--store",
                "store",
                default=None,
                metavar="URL",
                help="Job store: sqlite:///PATH (default: uidt.db in the home), sqlite://RELATIVE or "
                "memory://, or postgresql://… (one store shared by several hosts, with leases; needs "
                "uidt[postgresql]).",
            ),
            click.option(
                "--device",
                type=click.Choice(["auto", "fake"]),
                default=None,
                help="Read the real device (auto, the default), or start from a neutral fake one.",
            ),
            click.option(
                "--web",
                default=None,
                metavar="HOST:PORT",
                help="Serve the Task Manager page on loopback (the `web` setting; `off`: none).",
            ),
            click.option(
                "--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a setting."
            ),
            click.option(
                "--log-format",
                type=click.Choice(["text", "json"]),
                default=None,
                help="Log lines as text, or one JSON object a line (`--set log_format=`).",
            ),
            click.option(
                "--prestart",
                multiple=True,
                metavar="APP",
                hidden=True,
                help="Start this built-in app's worker at once (the CLI's autostart).",
            ),
        ]
        if foreground:
            options.insert(
                0,
                click.option(
                    "--foreground",
                    is_flag=True,
                    help="Stay in the foreground and log to stderr too.",
                ),
            )
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _options(kwargs: dict[str, Any]) -> StartOptions:
    return StartOptions(
        foreground=bool(kwargs.get("foreground", False)),
        store=kwargs["store"],
        device=kwargs["device"],
        web=kwargs["web"],
        sets=tuple(kwargs["sets"])
        + ((f"log_format={kwargs['log_format']}",) if kwargs.get("log_format") else ()),
        prestart=tuple(kwargs["prestart"]),
    )


@click.group(invoke_without_command=True)
@start_options()
@click.pass_context
def daemon(ctx: click.Context, /, **kwargs: Any) -> None:
    """Run the uidt daemon (in the background unless --foreground); or stop, status, restart."""
    options = _options(kwargs)
    if ctx.invoked_subcommand is not None:
        if options.given():
            raise click.UsageError(
                f"give the options after the command: uidt daemon {ctx.invoked_subcommand} …"
            )
        return
    cli = ctx.find_object(CliContext)
    assert cli is not None  # the top-level group made it
    _start(cli, options)


@daemon.command("start")
@start_options()
@pass_cli
def start_command(cli: CliContext, /, **kwargs: Any) -> None:
    """Start the daemon (the same as `uidt daemon`)."""
    _start(cli, _options(kwargs))


@daemon.command("stop")
@click.option(
    "--timeout",
    type=float,
    default=STOP_TIMEOUT_S,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for it to exit.",
)
@pass_cli
def stop_command(cli: CliContext, timeout: float) -> None:
    """Stop the daemon gracefully (running jobs are stopped; persisted jobs run again later)."""
    conn = cli.connection(autostart=False)
    conn.timeout = min(conn.timeout, timeout)  # a daemon that does not answer is not waited for
    status = running_status(conn)
    if status is None:
        click.echo(f"no uidt daemon runs for {cli.paths.data_dir}")
        return
    stop_daemon(conn, status, timeout)
    click.echo(_stopped_text(status))


@daemon.command("status")
@click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")
@pass_cli
def status_command(cli: CliContext, json_output: bool) -> None:
    """Pid, home, uptime, store, device source, web page and job counts (exit 3: none runs)."""
    status = running_status(cli.connection(autostart=False))
    if cli.json_output or json_output:
        print_json(
            {"running": status is not None, "home": str(cli.paths.data_dir), **(status or {})}
        )
    elif status is None:
        click.echo(f"uidt daemon: not running (home {cli.paths.data_dir})")
    else:
        click.echo("\n".join(status_lines(status)))
    if status is None:
        sys.exit(EXIT_NOT_RUNNING)


@daemon.command("restart")
@start_options(foreground=False)
@click.option(
    "--timeout",
    type=float,
    default=STOP_TIMEOUT_S,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the old daemon to exit.",
)
@pass_cli
def restart_command(cli: CliContext, /, timeout: float, **kwargs: Any) -> None:
    """Stop the daemon and start it again with the same options (those given here win)."""
    asked = _options(kwargs)
    conn = cli.connection(autostart=False)
    conn.timeout = min(conn.timeout, timeout)
    status = running_status(conn)
    options = asked if status is None else asked.over(status.get("options") or {})
    check_options(cli.paths, options)  # a bad option leaves the running daemon alone
    if status is not None:
        stop_daemon(conn, status, timeout)
        click.echo(_stopped_text(status))
    _spawn(cli, options)


def _stopped_text(status: dict[str, Any]) -> str:
    running = int((status.get("jobs") or {}).get("running", 0))
    jobs = f"; it stopped {running} running job(s)" if running else ""
    return (
        f"stopped the uidt daemon (pid {status['pid']}) for {status['home']}{jobs}"
        " (persisted jobs run again when a daemon starts)"
    )


def _start(cli: CliContext, options: StartOptions) -> None:
    settings = check_options(cli.paths, options)  # bad settings fail here, before any start
    if options.foreground:
        run(
            DaemonOptions(
                paths=cli.paths,
                store_url=options.store,
                device=options.device or "auto",
                web=options.web,
                overrides=parse_sets(options.sets),
                foreground=True,
                prestart=options.prestart,
            )
        )
        return
    status = running_status(cli.connection(autostart=False))
    if status is None:
        _spawn(cli, options)
        return
    home, pid = status["home"], status["pid"]
    differ = differences(status, options, settings)
    if differ:
        raise DaemonError(
            f"a uidt daemon already runs for {home} (pid {pid}) {', '.join(differ)}; "
            f"run `uidt daemon restart {options.shell_words()}` to change it"
        )
    click.echo(f"a uidt daemon already runs for {home} (pid {pid})")


def _spawn(cli: CliContext, options: StartOptions) -> None:
    conn = cli.connection(autostart=False)
    conn.daemon_args = options.daemon_args()
    conn.start_daemon()
    click.echo(f"uidt daemon running for {cli.paths.data_dir}")

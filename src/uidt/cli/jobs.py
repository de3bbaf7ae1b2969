"""``uidt jobs``, ``stop``, ``ui`` and ``cmd``."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.console import Console

from uidt.cli.context import CliContext, pass_cli, print_json
from uidt.cli.render import jobs_table

#: Android's shell error codes and the exit statuses uidt gives them (interface.md).
EXIT_STATUS = {-1000: 3, -1001: 4, -1002: 5}


@click.command()
@click.option("--app", default=None, help="Only this app's jobs.")
@click.option("--all", "show_all", is_flag=True, help="Include finished and cancelled jobs.")
@click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")
@click.option("--watch", is_flag=True, help="Re-read and redraw every 0.5 s until Ctrl-C.")
@pass_cli
def jobs(cli: CliContext, app: str | None, show_all: bool, json_output: bool, watch: bool) -> None:
    """Jobs with their state, progress, and why they wait or why they stopped."""
    if watch:
        from uidt.notify.terminal import watch_jobs

        def fetch() -> list[dict[str, Any]]:
            reply = cli.request("GET", "/v1/jobs", app=app, all=show_all)
            return list(reply["jobs"])

        watch_jobs(fetch, jobs_table)
        return
    data = cli.request("GET", "/v1/jobs", app=app, all=show_all)["jobs"]
    if cli.json_output or json_output:
        print_json(data)
        return
    if not data:
        click.echo("No jobs.")
        return
    Console().print(jobs_table(data))


@click.command()
@click.argument("app")
@pass_cli
def stop(cli: CliContext, app: str) -> None:
    """The Task Manager's Stop: kill APP's worker, drop its user-initiated jobs."""
    data = cli.request("POST", f"/v1/apps/{app}/stop")
    stopped = data.get("stopped", [])
    click.echo(f"Stopped {app}" + (f" ({len(stopped)} running job(s))" if stopped else ""))


@click.command()
@pass_cli
def ui(cli: CliContext) -> None:
    """Print (and open, where a browser exists) the Task Manager URL."""
    data = cli.request("POST", "/v1/web/url")
    url = data.get("url")
    if not url:
        raise click.ClickException(
            "the daemon serves no Task Manager page; run `uidt daemon restart --web "
            '127.0.0.1:PORT`, or set web = "127.0.0.1:PORT" in config.toml'
        )
    if cli.json_output:
        print_json(data)
    else:
        click.echo(url)


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@pass_cli
def cmd(cli: CliContext, args: tuple[str, ...]) -> None:
    """Android's `cmd jobscheduler` verbs, plus `cmd device set|reset|show`."""
    if not args or args[0] in ("-h", "--help", "help"):
        # Answered here: asking for help must not start (or need) a daemon.
        from uidt.daemon.shell import USAGE

        click.echo(f"Usage: uidt cmd VERB [OPTIONS] [ARGS]...\n\n{USAGE}", nl=False)
        return
    data = cli.request("POST", "/v1/cmd", {"args": list(args)})
    out, err, code = data.get("stdout", ""), data.get("stderr", ""), int(data.get("code", 0))
    if out:
        sys.stdout.write(out if out.endswith("\n") else out + "\n")
    if err:
        sys.stderr.write(err if err.endswith("\n") else err + "\n")
    if data.get("usage_error"):
        sys.exit(2)
    if code != 0:
        sys.exit(EXIT_STATUS.get(code, 1))

"""``uidt jobs``, ``stop``, ``ui`` and ``cmd``."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.console import Console

from uidt.cli.context import CliContext, pass_cli, print_json
from uidt.cli.render import fleet_table, jobs_table
from uidt.store.fleet import stop_request_text

#: Android's shell error codes and the exit statuses uidt gives them (interface.md).
EXIT_STATUS = {-1000: 3, -1001: 4, -1002: 5}


@click.command()
@click.option("--app", default=None, help="Only this app's jobs.")
@click.option("--all", "show_all", is_flag=True, help="Include finished and cancelled jobs.")
@click.option(
    "--fleet",
    is_flag=True,
    help="Every job of every host sharing the job store, with the host holding each.",
)
@click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")
@click.option("--watch", is_flag=True, help="Re-read and redraw every 0.5 s until Ctrl-C.")
@pass_cli
def jobs(
    cli: CliContext, app: str | None, show_all: bool, fleet: bool, json_output: bool, watch: bool
) -> None:
    """Jobs with their state, progress, and why they wait or why they stopped."""
    if fleet:
        fleet_jobs(cli, app, json_output=cli.json_output or json_output, watch=watch)
        return
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


def fleet_jobs(cli: CliContext, app: str | None, *, json_output: bool, watch: bool) -> None:
    """``uidt jobs --fleet``: read through the daemon (``GET /v1/fleet/jobs``), never the store."""

    def fetch() -> dict[str, Any]:
        view: dict[str, Any] = cli.request("GET", "/v1/fleet/jobs")
        if app is not None:
            view["jobs"] = [j for j in view["jobs"] if j["app"] == app]
            view["stop_requests"] = [r for r in view["stop_requests"] if r["app"] == app]
        return view

    if watch:
        from uidt.notify.terminal import watch_jobs

        watch_jobs(lambda: list(fetch()["jobs"]), fleet_table)
        return
    view = fetch()
    if json_output:
        print_json(view)
        return
    if not view.get("fleet"):
        click.echo(f"uidt: {view.get('message', 'no other hosts')}", err=True)
        if view["jobs"]:
            Console().print(jobs_table(view["jobs"]))
        else:
            click.echo("No jobs.")
        return
    hosts = ", ".join(view.get("hosts") or {}) or view.get("host_id")
    click.echo(f"This host: {view.get('host_id')}; hosts seen: {hosts}")
    if view["jobs"]:
        Console().print(fleet_table(view["jobs"]))
    else:
        click.echo("No jobs on any host.")
    shown = [r for r in view.get("stop_requests", []) if r.get("outcome") is None][:10]
    for request in shown:
        ident = f"{request['app']}/{request['job_id']}"
        click.echo(f"stop of {ident} from {request['requested_by']}: {stop_request_text(request)}")


@click.command()
@click.argument("app")
@pass_cli
def stop(cli: CliContext, app: str) -> None:
    """The Task Manager's Stop: kill APP's worker, drop its user-initiated jobs.

    On a job store shared by several hosts, APP's jobs on the other hosts are stopped too: each
    host holding one is sent a stop request (see `uidt jobs --fleet` for what became of it).
    """
    data = cli.request("POST", f"/v1/apps/{app}/stop")
    if cli.json_output:
        print_json(data)
        return
    stopped = data.get("stopped", [])
    click.echo(f"Stopped {app}" + (f" ({len(stopped)} running job(s))" if stopped else ""))
    for request in data.get("sent", []):
        ident = f"job {request['job_id']}" + (
            f" in {request['namespace']}" if request.get("namespace") else ""
        )
        host = request.get("sent_to")
        if host:
            click.echo(f"stop sent to host {host} ({ident})")
        else:
            click.echo(f"stop of {ident} left for the next host to claim it")
    if data.get("unreached"):
        click.echo(f"uidt: {data['unreached']}", err=True)
        sys.exit(1)


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

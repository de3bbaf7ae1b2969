"""``uidt notifications`` (what is shown, with its buttons) and ``uidt notification click``."""

from __future__ import annotations

import click

from uidt.app.connection import app_path
from uidt.cli.context import CliContext, pass_cli, print_json


@click.command()
@click.option("--app", default=None, help="Only this app's notifications.")
@click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")
@pass_cli
def notifications(cli: CliContext, app: str | None, json_output: bool) -> None:
    """The notifications shown now, with their actions (click one with `uidt notification click`)."""
    data = cli.request("GET", "/v1/notifications", app=app)["notifications"]
    if cli.json_output or json_output:
        print_json(data)
        return
    if not data:
        click.echo("No notifications.")
        return
    for n in data:
        job = f" (job {n['job_id']})" if n["job_id"] is not None else ""
        text = f" · {n['text']}" if n["text"] else ""
        click.echo(f"{n['app']} {n['id']}{job}: {n['title']}{text}")
        for action in n["actions"]:
            click.echo(f"    [{action['id']}] {action['title']}")


@click.group()
def notification() -> None:
    """Act on one notification."""


@notification.command("click")
@click.argument("app")
@click.argument("notification_id", type=int)
@click.argument("action")
@pass_cli
def click_action(cli: CliContext, app: str, notification_id: int, action: str) -> None:
    """Click ACTION on APP's notification NOTIFICATION_ID (as a click on its button would)."""
    path = app_path(app, "notifications", notification_id, "actions", action)
    cli.request("POST", path, {})
    click.echo(f"Clicked {action!r} on notification {notification_id} of {app}")


def _transfer_action(cli: CliContext, job_id: int, action: str, done: str) -> None:
    from uidt.transfers.names import TRANSFERS_APP

    path = app_path(TRANSFERS_APP, "notifications", job_id, "actions", action)
    cli.request("POST", path, {})
    click.echo(f"{done} transfer {job_id}")


@click.command()
@click.argument("job_id", type=int)
@pass_cli
def pause(cli: CliContext, job_id: int) -> None:
    """Pause transfer JOB_ID: it stops, keeps its part file, and reads "paused" (its notification's
    Pause)."""
    _transfer_action(cli, job_id, "pause", "Pausing")


@click.command()
@click.argument("job_id", type=int)
@pass_cli
def resume(cli: CliContext, job_id: int) -> None:
    """Resume paused transfer JOB_ID from its checkpoint (its notification's Resume)."""
    from uidt.errors import InvalidJobError

    try:
        _transfer_action(cli, job_id, "resume", "Resuming")
    except InvalidJobError:
        # No Resume button to press (the notification was dismissed, or not kept over a
        # restart): schedule the kept job from here, as `uidt download` does.
        _resume_kept(cli, job_id)


def _resume_kept(cli: CliContext, job_id: int) -> None:
    from uidt.app.scheduler import JobScheduler
    from uidt.transfers import paused
    from uidt.transfers.names import TRANSFERS_APP

    job = paused.load(job_id, cli.home)
    if job is None:
        raise click.ClickException(f"transfer {job_id} is not paused")
    scheduler = JobScheduler(TRANSFERS_APP, home=cli.home, _connection=cli.connection())
    with scheduler.activity():  # the user typed this command: the app is visible meanwhile
        result = scheduler.schedule(job)
    if result != JobScheduler.RESULT_SUCCESS:
        raise click.ClickException(f"the daemon refused to schedule transfer {job_id} again")
    paused.forget(job_id, cli.home)
    click.echo(f"Resuming transfer {job_id}")


@click.command()
@click.argument("job_id", type=int)
@pass_cli
def cancel(cli: CliContext, job_id: int) -> None:
    """Cancel running, paused or retrying transfer JOB_ID and remove what it left (a download's
    part file, an upload's resumable state; its notification's Cancel)."""
    from uidt.errors import InvalidJobError

    try:
        _transfer_action(cli, job_id, "cancel", "Cancelling")
    except InvalidJobError:
        # No Cancel button (the notification was dismissed, or not kept): drop the kept job here.
        _cancel_kept(cli, job_id)


def _cancel_kept(cli: CliContext, job_id: int) -> None:
    import asyncio

    from uidt.transfers import paused
    from uidt.transfers.leftovers import clean_up

    job = paused.load(job_id, cli.home)
    if job is None:
        raise click.ClickException(f"transfer {job_id} is neither running nor paused")
    paused.forget(job_id, cli.home)
    asyncio.run(clean_up(job.extras))
    click.echo(f"Cancelled transfer {job_id}")

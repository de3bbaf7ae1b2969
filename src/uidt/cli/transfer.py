"""``uidt download`` and ``uidt upload``: schedule a user-initiated transfer, optionally follow it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import click

from uidt.app.scheduler import JobScheduler
from uidt.cli import progress
from uidt.cli.context import CliContext, pass_cli, print_json
from uidt.cli.progress import ProgressBar
from uidt.errors import DaemonError, InvalidJobError
from uidt.job.info import JobInfo
from uidt.transfers.jobs import (
    DONE,
    NETWORK_CHOICES,
    TRANSFERS_APP,
    download_job,
    upload_job,
)

TERMINAL_STATES = ("finished", "cancelled", "user-stopped")
#: How long one ``--wait`` request may wait in the daemon for the next change (a long poll: the
#: daemon answers as soon as anything changes, so the end of a transfer is seen at once).
WAIT_MS = 1000
#: The pause between asks when the daemon does not long-poll (an older daemon).
POLL_S = 0.05
#: After losing its daemon (killed, or restarted), ``--wait`` gives a daemon this long to come
#: back by itself (a service manager, another command) before it starts one, as any command
#: does; the persisted job goes on under the next daemon either way.
RECONNECT_GRACE_S = 3.0
RECONNECT_POLL_S = 0.1
#: Losses in a row (no answer in between) after which ``--wait`` gives up following.
MAX_RECONNECTS = 5


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--network",
            type=click.Choice(sorted(NETWORK_CHOICES)),
            default="any",
            show_default=True,
            help="Network the transfer needs.",
        ),
        click.option("--requires-charging", is_flag=True, help="Only while charging."),
        click.option(
            "--requires-battery-not-low", is_flag=True, help="Not while the battery is low."
        ),
        click.option("--requires-storage-not-low", is_flag=True, help="Not while storage is low."),
        click.option("--no-persist", is_flag=True, help="Forget the job if the daemon restarts."),
        click.option("--wait", is_flag=True, help="Follow the transfer until it ends."),
        click.option("--foreground", is_flag=True, help="Run it in this process, no daemon."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _default_dest(url: str) -> Path:
    name = Path(unquote(urlsplit(url).path)).name or "download"
    return Path.cwd() / name


@click.command()
@click.argument("url")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--sha256", default=None, metavar="HEX", help="Verify the file's SHA-256.")
@_common
@pass_cli
def download(
    cli: CliContext,
    url: str,
    output: Path | None,
    sha256: str | None,
    network: str,
    requires_charging: bool,
    requires_battery_not_low: bool,
    requires_storage_not_low: bool,
    no_persist: bool,
    wait: bool,
    foreground: bool,
) -> None:
    """Download URL as a user-initiated job; prints the job id."""
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise InvalidJobError(f"only http:// and https:// URLs can be downloaded, not {url!r}")
    if sha256 is not None and (
        len(sha256) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha256)
    ):
        raise InvalidJobError("--sha256 takes 64 hexadecimal digits")
    dest = (output or _default_dest(url)).absolute()
    if not dest.parent.is_dir():
        raise InvalidJobError(f"the destination folder {dest.parent} does not exist")
    job = download_job(
        url,
        dest,
        sha256=sha256,
        network=network,
        requires_charging=requires_charging,
        requires_battery_not_low=requires_battery_not_low,
        requires_storage_not_low=requires_storage_not_low,
        persisted=not no_persist,
    )
    _submit(cli, job, dest, wait=wait, foreground=foreground)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("url")
@click.option("--tus", is_flag=True, help="Resumable upload with the tus 1.0 protocol.")
@click.option("--method", type=click.Choice(["PUT", "POST"]), default="PUT", show_default=True)
@_common
@pass_cli
def upload(
    cli: CliContext,
    file: Path,
    url: str,
    tus: bool,
    method: str,
    network: str,
    requires_charging: bool,
    requires_battery_not_low: bool,
    requires_storage_not_low: bool,
    no_persist: bool,
    wait: bool,
    foreground: bool,
) -> None:
    """Upload FILE to URL as a user-initiated job; prints the job id."""
    job = upload_job(
        file,
        url,
        tus=tus,
        method=method,
        network=network,
        requires_charging=requires_charging,
        requires_battery_not_low=requires_battery_not_low,
        requires_storage_not_low=requires_storage_not_low,
        persisted=not no_persist,
    )
    _submit(cli, job, None, wait=wait, foreground=foreground)


def _submit(
    cli: CliContext, job: JobInfo, dest: Path | None, *, wait: bool, foreground: bool
) -> None:
    if foreground:
        from uidt.app.fallback import run_in_foreground

        ok = run_in_foreground(TRANSFERS_APP, job)
        raise SystemExit(0 if ok else 1)
    # If no daemon runs, the one autostarted for this job boots the transfers worker at once.
    cli.daemon_args = (*cli.daemon_args, "--prestart", TRANSFERS_APP)
    connection = cli.connection()
    prefetched: list[object] = []
    if wait:
        # rich loads while a freshly spawned daemon starts (not before: the spawn comes first),
        # else while the job runs.
        connection.on_spawn = lambda: prefetched.append(progress.prefetch())
    scheduler = JobScheduler(TRANSFERS_APP, home=cli.home, _connection=connection)
    # The user typed this command: the CLI is the visible app while it schedules.
    with scheduler.activity():
        result = scheduler.schedule(job)
    connection.on_spawn = None
    if wait and not prefetched:
        progress.prefetch()
    if result != JobScheduler.RESULT_SUCCESS:
        raise click.ClickException(
            "the daemon refused the job (RESULT_FAILURE): is RUN_USER_INITIATED_JOBS revoked "
            f"for {TRANSFERS_APP}? See `uidt apps list`."
        )
    if cli.json_output:
        print_json({"job_id": job.job_id, "app": TRANSFERS_APP})
    else:
        click.echo(job.job_id)
    if wait:
        ok = follow(cli, job.job_id, dest, persisted=job.is_persisted())
        raise SystemExit(0 if ok else 1)


def _find(jobs: list[dict[str, Any]], job_id: int) -> dict[str, Any] | None:
    for job in jobs:
        if job["job_id"] == job_id and job.get("namespace") is None:
            return job
    return None


def _final_notification(cli: CliContext, job_id: int) -> dict[str, Any] | None:
    for note in cli.request("GET", "/v1/dumpsys").get("notifications", []):
        if note.get("app") == TRANSFERS_APP and note.get("id") == job_id:
            return dict(note)
    return None


class DaemonStopped(DaemonError):
    """The daemon ``--wait`` talked to was stopped on purpose and none came back."""


def reconnect(cli: CliContext) -> None:
    """Wait up to :data:`RECONNECT_GRACE_S` for a daemon to answer again, else start one.

    A daemon that ended on purpose (``uidt daemon stop``, SIGTERM) removes its pid file; one
    that was killed leaves it behind. Only the killed one is started again here: a daemon the
    user stopped stays stopped.

    Raises:
        DaemonStopped: the daemon was stopped on purpose and none came back.
        DaemonError: no daemon came back and none could be started.
    """
    quiet = cli.connection(autostart=False)
    deadline = time.monotonic() + RECONNECT_GRACE_S
    while time.monotonic() < deadline:
        try:
            quiet.request("GET", "/v1/ping")
        except DaemonError:
            time.sleep(RECONNECT_POLL_S)  # noqa: TID251 - waiting for another process, bounded
        else:
            return
    if not cli.paths.pid_file.exists():
        raise DaemonStopped(f"the uidt daemon for {cli.paths.data_dir} was stopped")
    cli.connection(autostart=True).request("GET", "/v1/ping")


def follow(cli: CliContext, job_id: int, dest: Path | None, *, persisted: bool = True) -> bool:
    """Show a progress bar until the job ends; ``True`` if it succeeded.

    The bar appears once the job is seen still running (a job that is over at the first look
    needs none); each later look is a long poll that the daemon answers at the next change.
    A daemon that goes away (killed, restarted) is waited for, or started again
    (:func:`reconnect`): the job is persisted, so it goes on under the next daemon, and
    ``--wait`` reports how it really ended.
    """
    last: dict[str, Any] | None = None
    version: int | None = None
    bar: ProgressBar | None = None
    quiet = cli.connection(autostart=False)
    losses = 0
    try:
        while True:
            wait = {} if version is None else {"since": version, "wait_ms": WAIT_MS}
            query = {"app": TRANSFERS_APP, "all": True, **wait}
            try:
                reply = quiet.request("GET", "/v1/jobs", query=query)
            except DaemonError:
                losses += 1
                if losses > MAX_RECONNECTS:
                    raise
                try:
                    reconnect(cli)
                except DaemonStopped as exc:
                    after = (
                        "it is persisted and goes on when a daemon starts (`uidt jobs` shows it)"
                        if persisted
                        else "it was not persisted (--no-persist), so it ended with the daemon"
                    )
                    click.echo(f"{exc}: stopped following job {job_id}; {after}", err=True)
                    return False
                version = None  # a new daemon counts its changes from the start
                continue
            losses = 0
            job = _find(reply["jobs"], job_id)
            if job is None or job["state"] in TERMINAL_STATES:
                last = job or last
                break
            last = job
            if bar is None:
                bar = ProgressBar(job_id)
            bar.show(job)
            version = reply.get("version")
            if version is None:
                time.sleep(POLL_S)  # noqa: TID251 - a human-facing poll of an older daemon
    finally:
        if bar is not None:
            bar.close()
    note = _final_notification(cli, job_id)
    text = "" if note is None else f"{note.get('title', '')}: {note.get('text', '')}".strip(": ")
    if last is not None and last.get("state") in ("cancelled", "user-stopped"):
        click.echo(f"job {job_id} was {last['state']}" + (f" — {text}" if text else ""), err=True)
        return False
    if note is not None:
        ok = str(note.get("title", "")).endswith(DONE)
    else:
        ok = dest is not None and dest.exists()
    click.echo(text or ("done" if ok else "failed"), err=not ok)
    return ok

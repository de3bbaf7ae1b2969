"""Following one job until it ends: ``uidt download/upload --wait`` and ``uidt follow JOB``.

A follower names one *scheduling* of a job: (app, job id, generation). The generation comes from
the schedule request's answer (:mod:`uidt.daemon.tracking`), so an earlier run under the same job
id — a replaced, stopped or failed one, still in the list of ended jobs — never answers for the
job this command scheduled. The exit status is how the job ended: 0 exactly when it ended
``finished`` and completed (its app finished it); 1 when it ended ``finished`` without completing
(the system stopped it and the app did not ask for it back, or its app said so: a paused
transfer, "was paused at 1 MiB of 4 MiB"; the words say so), ``failed``,
``cancelled`` or ``user-stopped`` (the reason is printed), or when its end was not recorded; 130 when the user pressed Ctrl-C, which stops the
following, not the job.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

import click

from uidt.cli.context import CliContext, pass_cli
from uidt.cli.progress import ProgressBar, is_terminal
from uidt.cli.reconnect import DaemonStopped, Losses
from uidt.errors import DaemonError
from uidt.job.reasons import Incomplete, incomplete_end_words, incomplete_words
from uidt.timing import mark
from uidt.transfers.names import PAUSED, TRANSFERS_APP

#: States after which a job never runs again.
TERMINAL_STATES = frozenset({"finished", "failed", "cancelled", "user-stopped"})
#: How long one request may wait in the daemon for the next change (a long poll: the daemon
#: answers as soon as anything changes, so the end of a job is seen at once; with no live bar,
#: as soon as the job's state changes, so during a transfer about once per WAIT_MS).
WAIT_MS = 1000
#: The pause between asks when the daemon does not long-poll (an older daemon).
POLL_S = 0.05
#: The exit status after Ctrl-C (128 + SIGINT), as a shell reports it.
EXIT_INTERRUPTED = 130


@dataclass
class Target:
    """The scheduling a follower watches; ``generation`` ``None``: the job's current one."""

    app: str
    job_id: int
    generation: int | None = None
    #: The word for the work in messages: "download", "upload" or "job".
    what: str = "job"
    #: Whether the job outlives its daemon (what to say when the daemon was stopped).
    persisted: bool = True
    #: The host labels the job requires (``--on``): gone from this daemon, it moved to a host
    #: having them (a shared store, docs/fleet.md) rather than ended unrecorded.
    host_labels: tuple[str, ...] = ()


def _matches(job: dict[str, Any], target: Target) -> bool:
    if job.get("app") != target.app or job.get("namespace") is not None:
        return False
    if job.get("job_id") != target.job_id:
        return False
    return target.generation is None or job.get("generation") == target.generation


def find(jobs: list[dict[str, Any]], target: Target) -> dict[str, Any] | None:
    """The target's record in a ``/v1/jobs?all=1`` answer (scheduled jobs first, then ended).

    Without a generation, the job scheduled under the id now, else the last one that ended.
    """
    found = [job for job in jobs if _matches(job, target)]
    if not found:
        return None
    if target.generation is not None:
        return found[0]
    live = [job for job in found if job.get("state") not in TERMINAL_STATES]
    return live[0] if live else found[-1]


def _final_notification(cli: CliContext, target: Target) -> dict[str, Any] | None:
    """The notification the target shows (its app's listing: small, unlike ``dumpsys``)."""
    # Never starts a daemon: a follower that lost its daemon reconnects by its own rules.
    shown = cli.connection(autostart=False).request(
        "GET", "/v1/notifications", query={"app": target.app}
    )
    for note in shown.get("notifications", []):
        if note.get("app") == target.app and note.get("id") == target.job_id:
            return dict(note)
    return None


def _last_words(cli: CliContext, target: Target) -> dict[str, Any] | None:
    """The finished job's last notification, if its daemon still answers: how the job ended is
    known already (a daemon killed right after is no reason to exit 1), only the words differ."""
    try:
        return _final_notification(cli, target)
    except DaemonError:
        return None


def _note_text(note: dict[str, Any] | None) -> str:
    if note is None:
        return ""
    return f"{note.get('title') or ''}: {note.get('text') or ''}".strip(": ")


def _interrupted(target: Target) -> str:
    app = "" if target.app == TRANSFERS_APP else f" --app {target.app}"
    return (
        f"stopped following; the {target.what} goes on in the background — "
        f"`uidt follow{app} {target.job_id}` to watch it, "
        f"`uidt cmd cancel {target.app} {target.job_id}` to stop it"
    )


def _paused_transfer(job: dict[str, Any], target: Target) -> str | None:
    """Where a ``finished`` built-in transfer the user paused stopped ("paused at 1 MiB of
    4 MiB"), ``None`` for any other job. Its record says so (``incomplete``); a daemon from
    before that field is read by the notification its record keeps, titled "… paused"."""
    if target.app != TRANSFERS_APP:
        return None
    incomplete = job.get("incomplete")
    if isinstance(incomplete, dict):
        if incomplete.get("how") != Incomplete.PAUSED:
            return None
        return incomplete_words(incomplete)
    title = str((job.get("notification") or {}).get("title") or "")
    return PAUSED if title.endswith(f" {PAUSED}") else None


def outcome(job: dict[str, Any] | None, target: Target) -> tuple[int, str]:
    """The exit status and the line to print for how the followed job ended."""
    label = f"job {target.job_id}"
    if job is None and target.host_labels:
        return 1, (
            f"{label} moved to another host of the shared store, one with label"
            f"{'s' if len(target.host_labels) > 1 else ''} {', '.join(target.host_labels)}; "
            "it goes on there, and this host cannot follow it"
        )
    if job is None:
        return 1, f"{label} is gone and how it ended was not recorded (was the daemon restarted?)"
    state = job.get("state")
    if state == "finished":
        paused = _paused_transfer(job, target)
        if paused is not None:  # the app ended it on the user's Pause: not done
            return 1, (
                f"{label} was {paused}: its partial file is kept, "
                f"`uidt resume {target.job_id}` goes on from where it stopped"
            )
        incomplete = incomplete_end_words(
            state, job.get("stop_reason"), job.get("internal_stop_reason"), job.get("incomplete")
        )
        if incomplete is not None:  # dropped after a stop, or its app said so: not done
            return 1, f"{label} {incomplete}"
        return 0, f"{label} finished"
    if state == "failed":
        return 1, f"{label} failed: {job.get('failure') or 'no reason given'}"
    if state == "cancelled":
        return 1, f"{label} was cancelled (by the app, or replaced by a newer one)"
    if state == "user-stopped":
        return 1, f"{label} was stopped by the user"
    return 1, f"{label} is {state}"


def follow(cli: CliContext, target: Target) -> int:
    """Show a progress bar until the target ends; its exit status (see the module's docstring).

    The bar appears once the job is seen still running (a job that is over at the first look
    needs none); each later look is a long poll that the daemon answers at the next change.
    Ctrl-C (at any point) stops the following only, says how to go on, and gives 130.
    """
    bar: list[ProgressBar] = []
    try:
        job = _watch(cli, target, bar)
        mark("cli.end_seen")
        status, line = outcome(job, target)
        note = _last_words(cli, target) if status == 0 else None
        mark("cli.final_notification")
        if bar:
            # The last frame: 100 % only for a finished job whose notification says it is done.
            bar.pop().finish(note, job)
        line = _note_text(note) or line
    except KeyboardInterrupt:
        if bar:
            bar.pop().close()
        click.echo("", err=True)
        click.echo(_interrupted(target), err=True)
        return EXIT_INTERRUPTED
    except DaemonStopped as exc:
        if bar:
            bar.pop().close()
        after = (
            "it is persisted and goes on when a daemon starts (`uidt jobs` shows it)"
            if target.persisted
            else "it was not persisted (--no-persist), so it ended with the daemon"
        )
        status, line = 1, f"{exc}: stopped following job {target.job_id}; {after}"
    finally:
        if bar:
            bar.pop().close()
    click.echo(line, err=status != 0)
    return status


def _watch(cli: CliContext, target: Target, bar: list[ProgressBar]) -> dict[str, Any] | None:
    """Poll until the target ends; its last record (``None``: gone). The bar goes in ``bar``."""
    version: int | None = None
    losses = Losses(cli)
    last_state: str | None = None
    left: dict[str, Any] | None = None  # the notification the job's last run left
    # No live bar (stderr is a pipe or a file: a frame every few seconds): the daemon need not
    # answer at each progress report, only when the job's state moves (or after WAIT_MS).
    live = is_terminal(sys.stderr)
    while True:
        wait: dict[str, Any] = {} if version is None else {"since": version, "wait_ms": WAIT_MS}
        if wait and not live and last_state is not None:
            wait["while_state"] = last_state
        # Only this job's records (a daemon before ``job_id`` sends the app's list: ``find``).
        query = {"app": target.app, "job_id": target.job_id, "all": True, **wait}
        try:
            reply = cli.connection(autostart=False).request("GET", "/v1/jobs", query=query)
            job = find(reply["jobs"], target)
            if job is not None and job["state"] not in TERMINAL_STATES and _between_runs(job):
                # The record carries the notification its last run left (detached), which says
                # why it waits ("retrying: the server answered 503"); a daemon from before that
                # sends none between runs: ask the app's notifications (once a wait).
                if job["state"] != last_state or left is None:
                    left = _final_notification(cli, target) or {}
                job = {**job, "notification": left}
            else:
                left = None
        except DaemonError as exc:
            # The daemon went away (killed, restarted) during any of the asks: the job goes on
            # under the next daemon, which counts its changes from the start.
            losses.lost(exc)
            version = None
            continue
        losses.answered()
        if job is not None and target.generation is None:
            target.generation = job.get("generation")
        if job is None or job["state"] in TERMINAL_STATES:
            return job
        if not bar:
            bar.append(ProgressBar(target.job_id))
        last_state = job["state"]
        bar[0].show(job)
        version = reply.get("version")
        if version is None:
            time.sleep(POLL_S)  # noqa: TID251 - a human-facing poll of an older daemon


def _between_runs(job: dict[str, Any]) -> bool:
    """Not running, but this scheduling of the job ran before (its last stop is recorded)."""
    ran = job.get("internal_stop_reason") not in (None, -1)
    return job["state"] != "active" and ran and not job.get("notification")


@click.command("follow")
@click.argument("job_id", type=int)
@click.option("--app", default=TRANSFERS_APP, show_default=True, help="The job's app.")
@pass_cli
def follow_command(cli: CliContext, job_id: int, app: str) -> None:
    """Follow JOB_ID until it ends (again): exit 0 if it finished, 1 if it did not."""
    what = "transfer" if app == TRANSFERS_APP else "job"
    reply = cli.request("GET", "/v1/jobs", app=app, all=True)
    job = find(reply["jobs"], Target(app, job_id))
    if job is None:
        raise click.ClickException(f"no job {job_id} of {app} (see `uidt jobs --all`)")
    if job["state"] not in TERMINAL_STATES:
        click.echo(f"following job {job_id}", err=True)
    raise SystemExit(follow(cli, Target(app, job_id, job.get("generation"), what)))

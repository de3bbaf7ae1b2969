"""``uidt timeline JOB_ID -o OUT.svg|png``: one job's timeline picture from the daemon's history."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from uidt.cli.context import CliContext, pass_cli
from uidt.transfers.jobs import TRANSFERS_APP


@click.command("timeline")
@click.argument("job_id", type=int)
@click.option("--app", default=TRANSFERS_APP, show_default=True, help="The job's app.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    metavar="OUT.svg|OUT.png",
    help="Where to draw it (SVG needs nothing; PNG needs matplotlib).",
)
@pass_cli
def timeline(cli: CliContext, job_id: int, app: str, output: Path) -> None:
    """Draw JOB_ID's timeline: when it ran, waited (and why) and was stopped (and why).

    From the job's last state changes and pending reasons, as the daemon keeps them, with lanes
    for the device readings its constraints depend on; times in local time. The job may be
    scheduled or among the last ended (`uidt jobs --all`).
    """
    from uidt.cli.follow import TERMINAL_STATES, Target, find
    from uidt.timeline import check_target, write_timeline
    from uidt.timeline.history import device_readings, first_change_utc_ms, timeline_of_job

    check_target(output)
    job = find(cli.request("GET", "/v1/jobs", app=app, all=True)["jobs"], Target(app, job_id))
    if job is None:
        raise click.ClickException(f"no job {job_id} of {app} (see `uidt jobs --all`)")
    # an ended job carries its own (its record's reasons_history, bytes_history)
    history: list[Any] = []
    moved: list[Any] = []
    if job.get("state") not in TERMINAL_STATES:
        answer = cli.request("GET", f"/v1/apps/{app}/jobs/{job_id}/reasons")
        history, moved = answer["history"], answer.get("bytes") or []
    since = first_change_utc_ms(job)  # only the readings the picture spans
    found = cli.request("GET", "/v1/device/history", since_utc_ms=since or 0)["readings"]
    readings = device_readings(found)
    picture = timeline_of_job(job, history, datetime.now(UTC), readings, moved)
    write_timeline(picture, output)
    click.echo(f"drew the timeline of job {job_id} of {app} into {output}")

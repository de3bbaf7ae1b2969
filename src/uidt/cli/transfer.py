"""``uidt download`` and ``uidt upload``: schedule a user-initiated transfer, optionally follow it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from uidt.app.scheduler import JobScheduler
from uidt.cli import progress
from uidt.cli.batchargs import BatchArgs, batch_options
from uidt.cli.batchinput import check_sha256
from uidt.cli.context import CliContext, pass_cli, print_json
from uidt.cli.follow import Target, follow
from uidt.cli.requestopts import RequestArgs, request_options
from uidt.cli.submit import admission_note, schedule_across_restarts
from uidt.errors import InvalidJobError, SettingsError
from uidt.job.hostlabels import normalized
from uidt.job.info import JobInfo
from uidt.rates import parse_rate
from uidt.redact import redact
from uidt.timing import mark
from uidt.transfers.jobs import (
    NETWORK_CHOICES,
    TRANSFERS_APP,
    builtin_manifest,
    download_job,
    upload_job,
)
from uidt.transfers.request import RequestOptions, origin
from uidt.transfers.safefile import current_umask
from uidt.transfers.segments import AUTO_SPLIT, MAX_SPLIT, MiB, Split, check_split


def _limit_rate(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_rate(value, "--limit-rate")
    except SettingsError as exc:
        raise click.BadParameter(str(exc).removeprefix("--limit-rate: ")) from None


#: ``uidt download`` without ``--split`` (nor an input file's ``split=``): ``auto``, as fast as
#: one connection on a link one fills and about 3x on a server that limits each connection
#: (bench/README.md, ``segmented_bench``).
DEFAULT_SPLIT: Split = AUTO_SPLIT


def _split(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Split | None:
    if value is None:
        return None
    try:
        return check_split(value, "--split")
    except InvalidJobError as exc:
        raise click.BadParameter(str(exc).removeprefix("--split: ")) from None


def _min_split_size(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        size = parse_rate(value, "--min-split-size")
    except SettingsError as exc:
        raise click.BadParameter(str(exc).removeprefix("--min-split-size: ")) from None
    if size is None or not MiB <= size <= 1024 * MiB:
        raise click.BadParameter(f"1M to 1024M (aria2's range), not {value!r}")
    return size


def rate_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The rate-limit options of ``uidt download`` and ``uidt upload`` (``limit_rate``)."""
    return click.option(
        "--limit-rate",
        "limit_rate",
        default=None,
        metavar="RATE",
        callback=_limit_rate,
        help="Keep this transfer under RATE bytes per second, with curl's suffixes: 500K, 2M, "
        "1G (1024-based). All transfers together also stay under the daemon's "
        "bandwidth_limit (`uidt cmd bandwidth-limit`).",
    )(func)


def _host_labels(
    _ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    try:
        return normalized(value)
    except InvalidJobError as exc:
        raise click.BadParameter(str(exc)) from None


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
        click.option(
            "--on",
            "host_labels",
            multiple=True,
            metavar="LABEL",
            callback=_host_labels,
            help="Run only on a host whose host_labels setting has LABEL (repeatable: every "
            "one); for hosts sharing a store (docs/fleet.md). A host without it keeps the job "
            "waiting.",
        ),
        click.option("--no-persist", is_flag=True, help="Forget the job if the daemon restarts."),
        click.option("--wait", is_flag=True, help="Follow the transfer until it ends."),
        click.option("--foreground", is_flag=True, help="Run it in this process, no daemon."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command()
@click.argument("urls", nargs=-1, metavar="[URL]...")
@batch_options
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    default=None,
    metavar="PATH",
    help="Save to PATH. If PATH is a directory (or ends with /), save into it under the URL's "
    "file name (with several files: their folder). Default: the URL's file name in the "
    "current directory.",
)
@click.option("--sha256", default=None, metavar="HEX", help="Verify the file's SHA-256.")
@click.option(
    "--lowest-speed",
    type=click.IntRange(min=0),
    default=None,
    metavar="BYTES_PER_S",
    help="Retry (then give up on) an attempt averaging less than this [default: 1024; 0: off].",
)
@click.option(
    "--lowest-speed-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="S",
    help="The window --lowest-speed is averaged over [default: 60].",
)
@click.option(
    "--allow-insecure-redirect",
    is_flag=True,
    help="Follow a redirect from https:// to http:// (refused by default).",
)
@click.option(
    "-s",
    "--split",
    default=None,
    metavar="N|auto",
    callback=_split,
    help=f"Download a file over N connections at once (aria2's --split, 1 to {MAX_SPLIT}) "
    "when the server takes ranges and the file is at least twice --min-split-size. "
    "auto (the default): one connection, exactly as --split 1, more only when the rest "
    "would take seconds and while each added one measurably helps (a server that limits "
    "each connection). 1: always one connection.",
)
@click.option(
    "--min-split-size",
    default=None,
    metavar="SIZE",
    callback=_min_split_size,
    help="No range under SIZE (aria2's, 1M to 1024M) [default: 20M].",
)
@rate_options
@_common
@request_options
@pass_cli
def download(
    cli: CliContext,
    request_args: RequestArgs,
    urls: tuple[str, ...],
    batch: BatchArgs,
    output: str | None,
    sha256: str | None,
    lowest_speed: int | None,
    lowest_speed_seconds: float | None,
    allow_insecure_redirect: bool,
    split: Split | None,
    min_split_size: int | None,
    limit_rate: int | None,
    network: str,
    requires_charging: bool,
    requires_battery_not_low: bool,
    requires_storage_not_low: bool,
    host_labels: tuple[str, ...],
    no_persist: bool,
    wait: bool,
    foreground: bool,
) -> None:
    """Download each URL (and each file of -i FILE) as a user-initiated job; prints the job ids.

    Several URLs, or -i FILE, schedule one job per file, at most -j at once (see docs/cli.md).
    """
    if sha256 is not None:
        check_sha256(sha256, "--sha256")
    items = batch.plan(urls, output=output, sha256=sha256)
    if len(items) > 1 and foreground:
        raise InvalidJobError("--foreground takes one URL")
    # Built once per origin: a --user password is asked for once per host, not per file.
    built: dict[tuple[str, str, int], RequestOptions] = {}
    for item in items:
        if origin(item.url) not in built:
            built[origin(item.url)] = request_args.build(item.url)
    jobs = [
        download_job(
            item.url,
            item.dest,
            sha256=item.sha256,
            mirrors=item.mirrors,
            network=network,
            requires_charging=requires_charging,
            requires_battery_not_low=requires_battery_not_low,
            requires_storage_not_low=requires_storage_not_low,
            persisted=not no_persist,
            host_labels=host_labels,
            lowest_speed=lowest_speed,
            lowest_speed_seconds=lowest_speed_seconds,
            umask=current_umask(),
            allow_insecure_redirect=allow_insecure_redirect,
            request=built[origin(item.url)],
            limit_rate=limit_rate,
            split=item.split if item.split is not None else split or DEFAULT_SPLIT,
            min_split_size=min_split_size,
        )
        for item in items
    ]
    if len(jobs) == 1:  # one file: the single-job command, exactly as before
        _submit(cli, jobs[0], items[0].dest, wait=wait, foreground=foreground)
        return
    raise SystemExit(batch.run(cli, items, jobs, wait=wait))


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("url")
@click.option(
    "--tus",
    is_flag=True,
    help="Require a resumable tus 1.0 upload: fail, sending nothing, if the server does not "
    "speak tus. Without --tus: tus when the server offers it, else a plain PUT/POST, and the "
    "notification says it fell back.",
)
@click.option(
    "--method",
    type=click.Choice(["PUT", "POST"]),
    default="PUT",
    show_default=True,
    help="Method of a plain (not tus) upload.",
)
@rate_options
@_common
@request_options
@pass_cli
def upload(
    cli: CliContext,
    request_args: RequestArgs,
    file: Path,
    url: str,
    tus: bool,
    method: str,
    limit_rate: int | None,
    network: str,
    requires_charging: bool,
    requires_battery_not_low: bool,
    requires_storage_not_low: bool,
    host_labels: tuple[str, ...],
    no_persist: bool,
    wait: bool,
    foreground: bool,
) -> None:
    """Upload FILE to URL as a user-initiated job; prints the job id."""
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise InvalidJobError(
            f"only http:// and https:// URLs can be uploaded to, not {redact(url)!r}"
        )
    request = request_args.build(url)
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
        host_labels=host_labels,
        request=request,
        limit_rate=limit_rate,
    )
    _submit(cli, job, None, wait=wait, foreground=foreground)


def _submit(
    cli: CliContext, job: JobInfo, dest: Path | None, *, wait: bool, foreground: bool
) -> None:
    if foreground:
        from uidt.app.fallback import run_in_foreground

        if job.required_host_labels:  # no host to choose: this process would run it anyway
            raise InvalidJobError("--on picks a host of the daemon's store; not with --foreground")

        ok = run_in_foreground(builtin_manifest(), job)
        raise SystemExit(0 if ok else 1)
    mark("cli.submit")
    # If no daemon runs, the one autostarted for this job boots the transfers worker at once.
    cli.daemon_args = (*cli.daemon_args, "--prestart", TRANSFERS_APP)
    connection = cli.connection()
    prefetched: list[object] = []
    if wait:
        # rich loads while a freshly spawned daemon starts (not before: the spawn comes first),
        # else while the job runs; not at all when stderr is not a terminal.
        connection.on_spawn = lambda: prefetched.append(progress.prefetch_if_shown())
    scheduler = JobScheduler(TRANSFERS_APP, home=cli.home, _connection=connection)
    answer = schedule_across_restarts(cli, scheduler, connection, job)
    mark("cli.scheduled")
    connection.on_spawn = None
    if wait and not prefetched:
        progress.prefetch_if_shown()
    if answer["result"] != JobScheduler.RESULT_SUCCESS:
        raise click.ClickException(
            "the daemon refused the job (RESULT_FAILURE): is RUN_USER_INITIATED_JOBS revoked "
            f"for {TRANSFERS_APP}? See `uidt apps list`."
        )
    what = "download" if dest is not None else "upload"
    if cli.json_output:
        print_json(
            {
                "job_id": job.job_id,
                "app": TRANSFERS_APP,
                "generation": answer.get("generation"),
                "attached": bool(answer.get("attached")),
            }
        )
    else:
        click.echo(job.job_id)
    note = admission_note(answer, job, what, wait=wait)
    if note:
        click.echo(note, err=True)
    if wait:
        target = Target(
            TRANSFERS_APP,
            job.job_id,
            answer.get("generation"),
            what,
            job.is_persisted(),
            job.required_host_labels,
        )
        raise SystemExit(follow(cli, target))

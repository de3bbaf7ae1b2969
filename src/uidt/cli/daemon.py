"""``uidt daemon``: run the daemon for the home."""

from __future__ import annotations

import click

from uidt.cli.context import CliContext, pass_cli
from uidt.daemon.main import DaemonOptions, check_web, parse_sets, run


@click.command()
@click.option("--foreground", is_flag=True, help="Stay in the foreground and log to stderr too.")
@click.option(
    "--store",
    "store_url",
    default=None,
    metavar="URL",
    help="Job store: sqlite:///PATH (default: uidt.db in the home), sqlite://RELATIVE or "
    "memory://. postgresql:// is reserved: there is no PostgreSQL store yet.",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "fake"]),
    default="auto",
    show_default=True,
    help="Read the real device, or start from a neutral fake one.",
)
@click.option(
    "--web", default=None, metavar="HOST:PORT", help="Serve the Task Manager page on loopback."
)
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a setting.")
@click.option(
    "--prestart",
    multiple=True,
    metavar="APP",
    hidden=True,
    help="Start this built-in app's worker at once (the CLI's autostart for download/upload).",
)
@pass_cli
def daemon(
    cli: CliContext,
    foreground: bool,
    store_url: str | None,
    device: str,
    web: str | None,
    sets: tuple[str, ...],
    prestart: tuple[str, ...],
) -> None:
    """Run the uidt daemon (in the background unless --foreground)."""
    overrides = parse_sets(sets)
    if web is not None:
        check_web(web)
    if not foreground:
        args: list[str] = ["--device", device]
        if store_url:
            args += ["--store", store_url]
        if web:
            args += ["--web", web]
        for item in sets:
            args += ["--set", item]
        for app in prestart:
            args += ["--prestart", app]
        conn = cli.connection(autostart=False)
        conn.daemon_args = tuple(args)
        conn.start_daemon()
        click.echo(f"uidt daemon running for {cli.paths.data_dir}")
        return
    options = DaemonOptions(
        paths=cli.paths,
        store_url=store_url,
        device=device,
        web=web,
        overrides=overrides,
        foreground=True,
        prestart=prestart,
    )
    run(options)

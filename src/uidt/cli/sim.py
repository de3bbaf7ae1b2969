"""``uidt sim SCENARIO.toml``: run a scenario through the scheduler core on a virtual clock."""

from __future__ import annotations

from pathlib import Path

import click

from uidt.cli.context import CliContext, pass_cli, print_json


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Seed for chance (crash probability); default: the scenario's.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="OUT.svg|OUT.png",
    help="Also draw the timeline of every job (SVG needs nothing; PNG needs matplotlib).",
)
@pass_cli
def sim(
    cli: CliContext, scenario: Path, seed: int | None, as_json: bool, plot: Path | None
) -> None:
    """Try a bad day before it happens: run SCENARIO (TOML) through the real scheduler.

    Prints per job when it finished, why it was stopped and how long it waited for what.
    The same scenario and seed always give the same result. Needs no daemon.
    """
    from uidt.sim import load_scenario, simulate
    from uidt.sim.report import to_json, to_text

    if plot is not None:
        from uidt.timeline import check_target

        check_target(plot)  # before the work: a picture we cannot draw fails at once
    result = simulate(load_scenario(scenario), seed)
    if plot is not None:
        from uidt.sim.picture import timeline_of
        from uidt.timeline import write_timeline

        write_timeline(timeline_of(result), plot)
    if as_json or cli.json_output:
        print_json(to_json(result))
    else:
        click.echo(to_text(result), nl=False)

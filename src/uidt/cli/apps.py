"""``uidt apps …``: the app registry."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from uidt.cli.context import CliContext, pass_cli, print_json
from uidt.packages.manifest import RUN_ANY_IN_BACKGROUND


@click.group()
def apps() -> None:
    """Install, list and remove apps; grant or revoke their permissions; restrict them."""


@apps.command()
@click.argument("manifest", type=click.Path(exists=True, dir_okay=True, path_type=Path))
@click.option(
    "--trust",
    is_flag=True,
    help="Install even if other users can change the app's code (its folders or files).",
)
@pass_cli
def install(cli: CliContext, manifest: Path, trust: bool) -> None:
    """Install (or update) the app whose uidt.toml is MANIFEST (a file or its directory).

    The app's code runs as you, so a manifest, folder or interpreter that another user owns or
    can write is refused (the message says which and why) unless --trust is given.
    """
    if manifest.is_dir():
        manifest = manifest / "uidt.toml"
    body: dict[str, object] = {"manifest_path": str(manifest.absolute())}
    if trust:
        body["trust"] = True
    data = cli.request("POST", "/v1/apps", body)
    if cli.json_output:
        print_json(data)
    else:
        click.echo(f"Installed {data['package']}")


@apps.command(name="list")
@pass_cli
def list_apps(cli: CliContext) -> None:
    """List installed apps."""
    data = cli.request("GET", "/v1/apps")["apps"]
    if cli.json_output:
        print_json(data)
        return
    table = Table("app", "services", "permissions", "granted", "revoked")
    for app in data:
        table.add_row(
            # a second line, not a column: the table must still fit 80 columns
            app["package"] + ("\n(restricted)" if app.get("background_restricted") else ""),
            "\n".join(s["name"] for s in app["manifest"].get("services", [])),
            ", ".join(app["manifest"].get("permissions", [])),
            ", ".join(app.get("granted", [])),
            ", ".join(app.get("revoked", [])),
        )
    Console().print(table)


@apps.command()
@click.argument("app")
@pass_cli
def remove(cli: CliContext, app: str) -> None:
    """Uninstall APP: its jobs are stopped and dropped."""
    cli.request("DELETE", f"/v1/apps/{app}")
    click.echo(f"Removed {app}")


@apps.command()
@click.argument("app")
@click.argument("permission")
@pass_cli
def grant(cli: CliContext, app: str, permission: str) -> None:
    """Grant PERMISSION (e.g. START_FROM_BACKGROUND, or re-allow RUN_USER_INITIATED_JOBS or
    RUN_ANY_IN_BACKGROUND)."""
    cli.request("POST", f"/v1/apps/{app}/permissions", {"grant": permission})
    click.echo(f"Granted {permission} to {app}")


@apps.command()
@click.argument("app")
@click.argument("permission")
@pass_cli
def revoke(cli: CliContext, app: str, permission: str) -> None:
    """Revoke PERMISSION (e.g. RUN_USER_INITIATED_JOBS: scheduling then returns RESULT_FAILURE;
    RUN_ANY_IN_BACKGROUND: the same as `uidt apps restrict`)."""
    cli.request("POST", f"/v1/apps/{app}/permissions", {"revoke": permission})
    click.echo(f"Revoked {permission} from {app}")


@apps.command()
@click.argument("app")
@pass_cli
def restrict(cli: CliContext, app: str) -> None:
    """Restrict APP's background activity: its jobs, user-initiated ones too, run only while
    it is visible, and stop (reason BACKGROUND_RESTRICTION) when it is not.

    The same as `uidt apps revoke APP RUN_ANY_IN_BACKGROUND`.
    """
    cli.request("POST", f"/v1/apps/{app}/permissions", {"revoke": RUN_ANY_IN_BACKGROUND})
    click.echo(f"Restricted {app} in the background")


@apps.command()
@click.argument("app")
@pass_cli
def unrestrict(cli: CliContext, app: str) -> None:
    """Lift `uidt apps restrict`: APP's jobs may run in the background again."""
    cli.request("POST", f"/v1/apps/{app}/permissions", {"grant": RUN_ANY_IN_BACKGROUND})
    click.echo(f"{app} may run in the background again")

"""``python -m uidt.daemon``: the daemon's light entry point (what the CLI autostarts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from uidt.daemon.__main__ import parse_args
from uidt.errors import SettingsError


def test_options_map_to_daemon_options(tmp_path: Path) -> None:
    argv = ["--home", str(tmp_path), "--foreground", "--device", "fake", "--store", "memory://"]
    argv += ["--set", "op_timeout_ms=100", "--set", "x = y", "--web", "127.0.0.1:0"]
    argv += ["--prestart", "uidt.transfers"]
    options = parse_args(argv)
    assert options.paths.data_dir == tmp_path
    assert options.paths.socket == tmp_path / "uidt.sock"
    assert (options.device, options.store_url, options.web) == ("fake", "memory://", "127.0.0.1:0")
    assert options.overrides == {"op_timeout_ms": "100", "x": "y"}
    assert options.prestart == ("uidt.transfers",)
    assert options.foreground is True


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--set", "nonsense"], "NAME=VALUE"), (["--web", "8765"], "HOST:PORT")],
)
def test_bad_options_are_settings_errors(args: list[str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_args(args)


def test_a_bad_option_ends_the_process_with_a_clear_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "uidt.daemon", "--home", str(tmp_path), "--set", "nonsense"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("uidt: --set takes NAME=VALUE")


def test_the_entry_point_does_not_load_the_command_line() -> None:
    code = (
        "import sys, uidt.daemon.__main__\n"
        "print(','.join(m for m in ('click', 'uidt.cli.main', 'aiohttp') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def test_background_logs_to_the_file_only(tmp_path: Path) -> None:
    assert parse_args(["--home", str(tmp_path), "--background"]).foreground is False

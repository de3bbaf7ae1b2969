"""``uidt.cli.precheck``: its option table follows the commands' options."""

from __future__ import annotations

import click
import pytest

from uidt.cli import precheck
from uidt.cli.transfer import download, upload
from uidt.transfers.jobs import NETWORK_CHOICES


@pytest.mark.parametrize("command", [download, upload], ids=lambda c: str(c.name))
def test_the_option_table_matches_the_command(command: click.Command) -> None:
    name = str(command.name)
    flags: set[str] = set()
    valued: set[str] = set()
    for param in command.params:
        if isinstance(param, click.Option):
            (flags if param.is_flag else valued).update(param.opts)
    assert flags - {"--help"} == set(precheck.FLAGS) | set(precheck.OWN_FLAGS[name])
    assert valued == set(precheck.VALUE_OPTIONS) | set(precheck.OWN_VALUE_OPTIONS[name])


def test_the_network_names_are_the_commands() -> None:
    assert set(NETWORK_CHOICES) == precheck.NETWORKS


def test_a_password_to_ask_for_is_left_to_the_command_line() -> None:
    assert not precheck.acceptable("download", ["http://127.0.0.1:9/f", "-u", "me"], {})


def test_host_labels_are_checked_before_a_daemon_is_started() -> None:
    url = "http://127.0.0.1:9/f"
    assert precheck.acceptable("download", [url, "--on", "gpu-rack", "--on", "ssd"], {})
    assert not precheck.acceptable("download", [url, "--on", "GPU"], {})
    assert not precheck.acceptable("download", [url, "--on", "gpu", "--foreground"], {})


def test_split_counts_and_auto_are_checked_before_a_daemon_is_started() -> None:
    url = "http://127.0.0.1:9/f"
    assert precheck.acceptable("download", [url, "--split", "4"], {})
    assert precheck.acceptable("download", [url, "-s", "auto"], {})
    assert precheck.acceptable("download", [url, "--split=Auto"], {})
    assert not precheck.acceptable("download", [url, "--split", "17"], {})
    assert not precheck.acceptable("download", [url, "--split", "many"], {})

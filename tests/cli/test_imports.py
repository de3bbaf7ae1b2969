"""What ``uidt download URL -o F --wait`` loads: nothing heavy that the run does not use.

Each module here costs every command start-up CPU (and the first byte time): rich is only for a
terminal, the daemon's spawn code (subprocess, logging) only when a daemon must be started, h11
only in the daemon (the command reads its daemon's answers itself, :mod:`uidt.app.answer`).
Checked in a fresh interpreter by ``sys.modules``, never by timing.
"""

from __future__ import annotations

import json
import subprocess
import sys

#: Loaded by the command and its follower into a pipe, with a daemon already running.
_DOWNLOAD_INTO_A_PIPE = """
import io, json, sys
from uidt.cli.main import cli
import click
ctx = click.Context(cli)
command = cli.get_command(ctx, "download")
assert command is not None
from uidt.cli.progress import ProgressBar
bar = ProgressBar(7)  # stderr is a pipe here
bar.show({"state": "active", "transferred_download_bytes": 5, "estimated_download_bytes": 10})
bar.finish({"progress": 1.0}, {"state": "finished"})
print(json.dumps(sorted(sys.modules)))
"""

#: Never needed to schedule and follow a transfer into a pipe when a daemon runs.
UNNEEDED = (
    "rich",
    "uidt.app.spawn",
    "subprocess",
    "logging",
    "ssl",
    "aiohttp",
    "asyncio",
    "uidt.settings",
    "tomllib",
    "h11",
)


def _loaded(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    return set(json.loads(done.stdout))


def test_a_download_followed_into_a_pipe_loads_no_rich_and_no_spawn_code() -> None:
    loaded = _loaded(_DOWNLOAD_INTO_A_PIPE)
    assert "uidt.cli.transfer" in loaded  # the command itself was built
    assert sorted(name for name in UNNEEDED if name in loaded) == []


def test_the_version_loads_neither_the_connection_nor_rich() -> None:
    code = (
        "import json, sys\n"
        "from uidt.cli.main import cli\n"
        "try:\n"
        "    cli.main(['--version'], standalone_mode=False)\n"
        "finally:\n"
        "    print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stderr))
    assert sorted(name for name in UNNEEDED if name in loaded) == []

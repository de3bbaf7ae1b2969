"""Daemon start-up: light module imports, ``--prestart`` workers, and their clean-up on failure."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from uidt.daemon.main import DaemonOptions, prestart_workers, run_daemon
from uidt.daemon.paths import resolve_paths
from uidt.errors import StoreError
from uidt.settings import Settings
from uidt.transfers.jobs import TRANSFERS_APP


def _worker_children() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children():
        try:
            if "uidt.host.worker" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def uidt_logger() -> Iterator[None]:
    """``run_daemon`` sets up the ``uidt`` logger (file handler, no propagation): undo that."""
    logger = logging.getLogger("uidt")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    try:
        yield
    finally:
        for handler in logger.handlers:
            if handler not in saved[0]:
                handler.close()
        logger.handlers[:] = saved[0]
        logger.propagate, logger.level = saved[1], saved[2]


def test_the_daemon_module_defers_its_heavy_imports_and_the_api_needs_no_aiohttp() -> None:
    code = (
        "import sys, uidt.daemon.main, uidt.daemon.api\n"
        "heavy = ('aiohttp', 'psutil', 'uidt.server', 'uidt.daemon.runtime', 'uidt.store.sqlite')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


async def test_only_built_in_apps_are_prestarted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="uidt.daemon"):
        started = await prestart_workers(("org.example.nope",), tmp_path, Settings())
    assert started == []
    assert "only built-in apps can be prestarted" in caplog.text


@pytest.mark.usefixtures("uidt_logger")
async def test_a_prestarted_worker_dies_with_a_daemon_that_fails_to_start(tmp_path: Path) -> None:
    options = DaemonOptions(
        paths=resolve_paths(tmp_path / "home"),
        store_url="nosuchstore://x",
        prestart=(TRANSFERS_APP,),
        foreground=False,
    )
    with pytest.raises(StoreError, match="unknown store URL"):
        await run_daemon(options)
    assert _worker_children() == []
    assert (tmp_path / "home" / "logs" / f"worker-{TRANSFERS_APP}.log").exists()

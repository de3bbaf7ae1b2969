"""Daemon start-up: light module imports, ``--prestart`` workers, and their clean-up on failure."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from uidt.daemon.main import DaemonOptions, prestart_workers, run, workers_to_prestart
from uidt.errors import StoreError
from uidt.home.paths import resolve_paths
from uidt.settings import Settings
from uidt.store.sqlite import SqliteJobStore
from uidt.testing.store_contract import make_record
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
    """``run`` sets up the root and ``uidt`` loggers (the daemon's log file): undo that, and
    close the files it opened (a second ``run`` would drop them unclosed)."""
    loggers = (logging.getLogger(), logging.getLogger("uidt"))
    saved = [(list(lg.handlers), lg.propagate, lg.level) for lg in loggers]
    try:
        yield
    finally:
        for logger, (handlers, propagate, level) in zip(loggers, saved, strict=True):
            for handler in logger.handlers:
                if handler not in handlers:
                    handler.close()
            logger.handlers[:] = handlers
            logger.propagate, logger.level = propagate, level


def _imported_after(code: str, candidates: tuple[str, ...]) -> list[str]:
    probe = f"{code}\nimport sys\nprint(','.join(m for m in {candidates!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return [m for m in done.stdout.strip().split(",") if m]


def test_everything_before_the_prestart_is_light() -> None:
    """The entry point up to the worker's start imports neither asyncio nor the daemon's core."""
    code = "import uidt.daemon.__main__, uidt.daemon.builtin, uidt.host.prestart, uidt.store.peek"
    heavy = (
        "asyncio", "aiohttp", "psutil", "click", "uidt.server", "uidt.daemon.runtime",
        "uidt.store.sqlite",
    )  # fmt: skip
    assert _imported_after(code, heavy) == []


def test_the_control_api_needs_no_aiohttp() -> None:
    assert _imported_after("import uidt.daemon.api", ("aiohttp", "uidt.daemon.openapi")) == []


def test_only_built_in_apps_are_prestarted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="uidt.daemon"):
        started = prestart_workers(("org.example.nope",), tmp_path, Settings())
    assert started == []
    assert "only built-in apps can be prestarted" in caplog.text


@pytest.mark.usefixtures("uidt_logger")
def test_a_prestarted_worker_dies_with_a_daemon_that_fails_to_start(tmp_path: Path) -> None:
    options = DaemonOptions(
        paths=resolve_paths(tmp_path / "home"),
        store_url="nosuchstore://x",
        prestart=(TRANSFERS_APP,),
        foreground=False,
    )
    with pytest.raises(StoreError, match="unknown store URL"):
        run(options)
    assert _worker_children() == []
    assert (tmp_path / "home" / "logs" / f"worker-{TRANSFERS_APP}.log").exists()


@pytest.mark.usefixtures("uidt_logger")
def test_the_warm_worker_dies_with_a_daemon_that_fails_to_start(tmp_path: Path) -> None:
    """No ``--prestart``: the warm worker is started all the same, and killed all the same."""
    options = DaemonOptions(
        paths=resolve_paths(tmp_path / "home"), store_url="nosuchstore://x", foreground=False
    )
    with pytest.raises(StoreError, match="unknown store URL"):
        run(options)
    assert _worker_children() == []
    assert (tmp_path / "home" / "logs" / f"worker-{TRANSFERS_APP}.log").exists()  # it ran


def test_the_daemon_imports_the_worker_wire_format_only_when_a_worker_talks() -> None:
    """Before the socket answers the daemon needs no msgspec: the app host loads it on first use."""
    code = (
        "import uidt.daemon.main, uidt.daemon.api, uidt.daemon.runtime, uidt.daemon.builtin, "
        "uidt.daemon.jobwatch, uidt.daemon.lowmemory, uidt.host.apphost, uidt.server.service"
    )
    wire = ("msgspec", "uidt.host.messages", "uidt.host.protocol")
    assert _imported_after(code, wire) == []


def test_a_restarted_daemon_prestarts_the_built_in_workers_its_persisted_jobs_need(
    tmp_path: Path,
) -> None:
    """The persisted jobs of built-in apps get their worker at once; other apps wait for a bind."""
    paths = resolve_paths(tmp_path / "home")
    paths.ensure()
    options = DaemonOptions(paths=paths)
    assert workers_to_prestart(options) == ()  # a first start: no store yet
    with SqliteJobStore(paths.store) as store:
        store.put_job(make_record("org.example.app", 1))  # an installed app: not prestarted
        assert workers_to_prestart(options) == ()
        store.put_job(make_record(TRANSFERS_APP, 7))
        assert workers_to_prestart(options) == (TRANSFERS_APP,)
    asked = DaemonOptions(paths=paths, prestart=(TRANSFERS_APP,))
    assert workers_to_prestart(asked) == (TRANSFERS_APP,)  # once, though asked for twice
    in_memory = DaemonOptions(paths=paths, store_url="memory://")
    assert workers_to_prestart(in_memory) == ()


def test_a_warm_daemon_prestarts_the_transfer_worker_even_without_a_job(tmp_path: Path) -> None:
    """The ``warm_worker`` setting: the first download of a fresh daemon finds its worker ready."""
    paths = resolve_paths(tmp_path / "home")
    paths.ensure()
    options = DaemonOptions(paths=paths)
    assert Settings().warm_worker is True
    assert workers_to_prestart(options, warm=True) == (TRANSFERS_APP,)  # a first start
    asked = DaemonOptions(paths=paths, prestart=(TRANSFERS_APP,))
    assert workers_to_prestart(asked, warm=True) == (TRANSFERS_APP,)  # once
    assert workers_to_prestart(options, warm=False) == ()


def test_the_store_is_not_peeked_into_when_every_built_in_worker_starts_anyway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The glance into the store only adds built-in apps; with all of them asked for (or warm)
    it would only cost an SQLite open on the way to the worker's start."""
    import uidt.store.peek

    def no_peek(url: str, home: Path) -> set[str]:
        raise AssertionError("the store was peeked into")

    monkeypatch.setattr(uidt.store.peek, "apps_with_persisted_jobs", no_peek)
    paths = resolve_paths(tmp_path / "home")
    assert workers_to_prestart(DaemonOptions(paths=paths), warm=True) == (TRANSFERS_APP,)
    asked = DaemonOptions(paths=paths, prestart=(TRANSFERS_APP,))
    assert workers_to_prestart(asked) == (TRANSFERS_APP,)

"""The daemon's store opens on a thread while its core modules load on the loop's."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from uidt.daemon.corestart import CORE_MODULES, open_while_loading


class _Store:
    def __init__(self) -> None:
        self.thread = threading.current_thread()
        self.closed = False

    def close(self) -> None:
        self.closed = True


async def test_the_store_opens_on_another_thread_while_the_core_loads() -> None:
    opened = threading.Event()
    seen: list[bool] = []

    def open_store() -> _Store:
        store = _Store()
        opened.set()
        return store

    def load() -> None:  # runs here meanwhile; the opening thread gets there on its own
        seen.append(opened.wait(10))

    store = await open_while_loading(open_store, load)
    assert seen == [True]
    assert store.thread is not threading.current_thread()


async def test_a_store_that_cannot_be_opened_fails_the_start_with_its_own_error() -> None:
    def open_store() -> _Store:
        raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        await open_while_loading(open_store, lambda: None)


async def test_an_open_store_is_closed_when_the_core_fails_to_load() -> None:
    store = _Store()

    def load() -> None:
        raise ImportError("no core")

    with pytest.raises(ImportError, match="no core"):
        await open_while_loading(lambda: store, load)
    assert store.closed


def test_the_core_modules_are_the_heavy_ones_the_daemon_serves_with() -> None:
    probe = (
        "import sys\n"
        "from uidt.daemon.corestart import load_core\n"
        "load_core()\n"
        "print(','.join(m for m in ('uidt.daemon.runtime', 'uidt.server.service', "
        "'uidt.daemon.api', 'uidt.host.apphost', 'psutil') if m not in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""
    assert "uidt.web" not in " ".join(CORE_MODULES)  # the page loads only when asked for

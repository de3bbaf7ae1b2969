"""The daemon's logs: every logger routed to a rotating file, floods collapsed, raw-fd logs capped."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from uidt.daemon import logs
from uidt.daemon.logs import RepeatFilter, setup_logging
from uidt.home.logfiles import open_capped_log


def _record(message: str, created: float, name: str = "asyncio") -> logging.LogRecord:
    record = logging.LogRecord(name, logging.ERROR, __file__, 1, message, None, None)
    record.created = created
    return record


def test_a_repeated_message_passes_a_burst_then_is_counted_and_reported() -> None:
    repeats = RepeatFilter(burst=5, window_s=60)
    passed = [
        r
        for r in (_record("accept failed\nfd 7", t / 100) for t in range(1000))
        if repeats.filter(r)
    ]
    assert len(passed) == 5
    assert "counted, not shown" in passed[-1].getMessage()
    later = _record("accept failed\nfd 9", 61.0)
    assert repeats.filter(later)
    assert "[repeated 995 more times, not shown]" in later.getMessage()
    assert repeats.filter(_record("something else", 10.0))  # other messages are not held back


def test_a_record_seen_by_two_handlers_is_counted_once() -> None:
    repeats = RepeatFilter(burst=2, window_s=60)
    verdicts = []
    for t in range(4):
        record = _record("same", float(t))
        verdicts.append((repeats.filter(record), repeats.filter(record)))
    assert verdicts == [(True, True), (True, True), (False, False), (False, False)]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    uidt = logging.getLogger("uidt")
    saved = (root.handlers[:], root.level, uidt.handlers[:], uidt.level, uidt.propagate)
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
            handler.close()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        uidt.handlers[:] = saved[2]
        uidt.setLevel(saved[3])
        uidt.propagate = saved[4]
        logging.captureWarnings(False)


def _log_bytes(log_dir: Path) -> int:
    return sum(p.stat().st_size for p in log_dir.iterdir() if p.name.startswith("daemon.log"))


@pytest.mark.usefixtures("restore_logging")
def test_asyncio_s_accept_flood_goes_to_the_rotating_log_collapsed(tmp_path: Path) -> None:
    setup_logging(tmp_path, foreground=False)
    flood = logging.getLogger("asyncio")
    for _ in range(20_000):  # what EMFILE made asyncio log, traceback and all, every retry
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            flood.exception("socket.accept() out of system resource\nsocket: <fd=6>")
    logging.getLogger("uidt.daemon").info("still logging")
    text = (tmp_path / "daemon.log").read_text()
    assert text.count("socket.accept() out of system resource") == logs.REPEAT_BURST
    assert "still logging" in text
    assert _log_bytes(tmp_path) < 20_000


@pytest.mark.usefixtures("restore_logging")
def test_the_daemon_log_rotates_at_its_size_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "LOG_BYTES", 10_000)
    setup_logging(tmp_path, foreground=False)
    for i in range(5_000):  # distinct messages: nothing is collapsed
        logging.getLogger("uidt.test").warning("message number %d %s", i, "x" * 40)
    assert _log_bytes(tmp_path) <= (logs.LOG_BACKUPS + 1) * 10_200
    assert (tmp_path / f"daemon.log.{logs.LOG_BACKUPS}").exists()


def test_a_raw_fd_log_is_rotated_when_opened_over_its_cap(tmp_path: Path) -> None:
    path = tmp_path / "daemon-start.log"
    path.write_bytes(b"old\n" * 100)
    os.close(open_capped_log(path, max_bytes=1000))
    assert path.read_bytes() == b"old\n" * 100  # under the cap: appended to
    fd = open_capped_log(path, max_bytes=100)
    os.write(fd, b"new\n")
    os.close(fd)
    assert path.read_bytes() == b"new\n"
    assert (tmp_path / "daemon-start.log.1").read_bytes() == b"old\n" * 100
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_raw_fd_log_does_not_follow_a_planted_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    (tmp_path / "worker-x.log").symlink_to(target)
    with pytest.raises(OSError, match="symbolic links"):
        open_capped_log(tmp_path / "worker-x.log")
    assert not target.exists()

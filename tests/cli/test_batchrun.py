"""The batch's own words after Ctrl-C: a file is "not scheduled" only when it was never asked for."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from uidt.cli import batchrun
from uidt.cli import reconnect as reconnect_module
from uidt.cli.batchrun import BatchRun
from uidt.cli.batchview import FileState
from uidt.cli.follow import EXIT_INTERRUPTED
from uidt.errors import DaemonConnectionLost
from uidt.job.info import JobInfo


class _Scheduler:
    RESULT_SUCCESS = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    @contextlib.contextmanager
    def activity(self) -> Iterator[None]:
        yield


class _Cli:
    json_output = False
    home = Path("/nonexistent")

    def connection(self) -> object:
        return object()


def _job(job_id: int) -> JobInfo:
    return JobInfo.Builder(job_id, "uidt.transfers.service:HttpDownloadService").build()


def test_ctrl_c_while_a_schedule_answer_is_awaited_does_not_call_that_file_unscheduled(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[int] = []

    def schedule_or_attach(connection: object, job: JobInfo) -> dict[str, Any]:
        asked.append(job.job_id)
        if len(asked) == 2:  # Ctrl-C while the daemon may already have stored this one
            raise KeyboardInterrupt
        return {"result": 1, "generation": 1}

    monkeypatch.setattr(batchrun, "JobScheduler", _Scheduler)
    monkeypatch.setattr(batchrun, "schedule_or_attach", schedule_or_attach)
    files = [(_job(n), FileState(f"f{n}", f"line {n}", n)) for n in (1, 2, 3)]
    run = BatchRun(_Cli(), files, limit=2)  # type: ignore[arg-type]
    assert run.run(wait=False) == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "1 scheduled file(s) go on in the background" in err
    assert "1 not scheduled" in err  # the third, never asked for
    assert "1 asked for without an answer (it may run" in err  # the second


def test_a_daemon_lost_before_the_first_schedule_answer_is_reconnected_not_fatal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The daemon starts the first file at once and may be killed before its answer (or the
    activity's close) reaches the command: the first feed is followed across the restart as
    every later one is, and the file asked again (attach: safe to repeat), never "uidt: lost
    the connection" with exit 1 (seen in CI under load)."""
    asked: list[int] = []
    reconnects: list[object] = []

    def schedule_or_attach(connection: object, job: JobInfo) -> dict[str, Any]:
        asked.append(job.job_id)
        if len(asked) == 1:
            raise DaemonConnectionLost("lost the connection to the uidt daemon: reset")
        return {"result": 1, "generation": 1}

    monkeypatch.setattr(batchrun, "JobScheduler", _Scheduler)
    monkeypatch.setattr(batchrun, "schedule_or_attach", schedule_or_attach)
    monkeypatch.setattr(reconnect_module, "reconnect", reconnects.append)
    files = [(_job(n), FileState(f"f{n}", f"line {n}", n)) for n in (1, 2)]
    run = BatchRun(_Cli(), files, limit=2)  # type: ignore[arg-type]
    monkeypatch.setattr(run, "_look", lambda version: None)
    assert run.run(wait=False) == 0
    assert asked == [1, 1, 2]  # the first asked again after the reconnect
    assert len(reconnects) == 1
    assert "lost the connection" not in capsys.readouterr().err

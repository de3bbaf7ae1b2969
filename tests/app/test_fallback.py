from __future__ import annotations

import io
from pathlib import Path

import pytest

from uidt import JobInfo, JobParameters, JobScheduler, JobService, NetworkType, Notification
from uidt.app.fallback import ProgressPrinter, run_service
from uidt.errors import DaemonError

SAMPLE = Path(__file__).parents[1] / "apps" / "sample"


def _job(log: Path) -> JobInfo:
    return (
        JobInfo.Builder(1, "sample_app:SampleService")
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.ANY)
        .set_extras({"mode": "finish", "log": str(log)})
        .build()
    )


@pytest.fixture
def unusable_home(tmp_path: Path) -> Path:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    return blocker / "home"


def test_without_a_daemon_the_call_fails_clearly(unusable_home: Path, tmp_path: Path) -> None:
    scheduler = JobScheduler("org.example.sample", home=unusable_home)
    with pytest.raises(DaemonError, match="cannot create the uidt home"):
        scheduler.schedule(_job(tmp_path / "log"))


def test_foreground_fallback_runs_the_service_in_this_process(
    unusable_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.syspath_prepend(str(SAMPLE))
    scheduler = JobScheduler("org.example.sample", home=unusable_home, fallback="foreground")
    assert scheduler.schedule(_job(tmp_path / "log")) == JobScheduler.RESULT_SUCCESS
    assert (tmp_path / "log").read_text() == "start 1 finish\n"
    err = capsys.readouterr().err
    assert "running the job in the foreground" in err
    assert "job 1" in err


def test_fallback_must_be_foreground_or_none() -> None:
    with pytest.raises(ValueError, match="fallback"):
        JobScheduler("org.example.sample", fallback="background")


class FailingService(JobService):
    """Fails at once with a reason (``job_failed``)."""

    def on_start_job(self, params: JobParameters) -> bool:
        self.job_failed(params, "HTTP 404 Not Found")
        return True


async def test_a_failed_job_in_the_foreground_is_not_a_success(
    capsys: pytest.CaptureFixture[str],
) -> None:
    job = (
        JobInfo.Builder(1, f"{__name__}:FailingService")
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.ANY)
        .build()
    )
    assert await run_service(None, job) is False
    assert "failed: HTTP 404 Not Found" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _note(title: str, text: str, progress: float | None) -> Notification:
    return Notification("transfers", title, text, progress=progress)


def test_foreground_progress_into_a_pipe_is_plain_lines_every_few_seconds() -> None:
    pipe, now = io.StringIO(), [0.0]
    printer = ProgressPrinter(pipe, clock=lambda: now[0], interval=5.0)
    for step in range(101):  # 25 s of notifications, four a second
        printer.show(_note("Download x", f"{step} KiB of 100 KiB", step / 100))
        now[0] += 0.25
    printer.show(_note("Download x complete", "100 KiB saved to x", 1.0))
    printer.end()
    out = pipe.getvalue()
    assert "\x1b" not in out
    assert "\r" not in out
    lines = out.splitlines()
    assert lines[0] == "Download x [  0.0%] 0 KiB of 100 KiB"
    assert 5 <= len(lines) <= 7  # 25 s at most every 5 s, plus the final line
    assert lines[-1] == "Download x complete [100.0%] 100 KiB saved to x"
    assert all(line.strip() for line in lines)


def test_the_last_notification_is_printed_even_inside_the_interval() -> None:
    pipe, now = io.StringIO(), [0.0]
    printer = ProgressPrinter(pipe, clock=lambda: now[0], interval=5.0)
    printer.show(_note("Sync", "1 of 3", None))
    now[0] += 1
    printer.show(_note("Sync", "3 of 3", None))
    printer.end()
    assert pipe.getvalue().splitlines() == ["Sync 1 of 3", "Sync 3 of 3"]


def test_on_a_terminal_the_line_is_redrawn_in_place_and_fits_its_width(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    terminal = _Terminal()
    printer = ProgressPrinter(terminal, clock=lambda: 0.0, interval=5.0)
    printer.show(_note("Download x", "1.0 MiB of 5.0 MiB · 1.0 MiB/s · 0:04 left", 0.2))
    printer.show(_note("Download x", "2.0 MiB of 5.0 MiB · 1.0 MiB/s · 0:03 left", 0.4))
    printer.end()
    frames = terminal.getvalue().split("\r\x1b[2K")
    assert frames[0] == ""
    assert all(len(frame.rstrip("\n")) < 40 for frame in frames)
    assert frames[-1].endswith("\n")
    assert frames[-1].startswith("Download x [ 40.0%] 2.0 MiB")

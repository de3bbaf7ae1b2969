from __future__ import annotations

from pathlib import Path

import pytest

from uidt import JobInfo, JobParameters, JobScheduler, JobService, NetworkType
from uidt.app.fallback import run_service
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

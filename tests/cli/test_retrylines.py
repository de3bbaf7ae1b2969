"""What ``--wait`` says of a retrying transfer: one line when a run starts retrying, one when the
reason changes or the run gives up, never one per attempt; the single follower's bar and the
batch view both."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

from uidt.cli.batchrun import BatchRun
from uidt.cli.batchview import BatchView, FileState
from uidt.cli.progress import ProgressBar
from uidt.cli.retrylines import RetryLines, retry_reason
from uidt.job.info import JobInfo
from uidt.transfers.names import TRANSFERS_APP

REFUSED = "cannot reach 127.0.0.1:9 (connection refused)"
PROXY = "the proxy 127.0.0.1:1 refused the connection"
HINT = "(uidt keeps trying while the network is up; uidt cancel 7 stops it)"


def _job(text: str, state: str = "active", **more: Any) -> dict[str, Any]:
    return {"state": state, "notification": {"text": text} if text else None, **more}


def test_the_reason_is_read_from_a_running_jobs_notification() -> None:
    assert retry_reason(_job(f"retrying: {REFUSED}")) == REFUSED
    insecure = f"INSECURE (certificate not checked) · retrying: {REFUSED}"
    assert retry_reason(_job(insecure)) == REFUSED
    assert retry_reason(_job("1.0 MiB of 4.0 MiB · a transient error was retried")) is None
    assert retry_reason(_job(f"retrying: {REFUSED}", state="waiting")) is None
    assert retry_reason(_job("saved 'retrying: x'")) is None  # not the mark, a word of a name
    assert retry_reason(_job("")) is None


def test_one_line_per_reason_not_per_attempt() -> None:
    lines = RetryLines(7)
    assert lines.news(_job(f"retrying: {REFUSED}")) == [f"retrying: {REFUSED} {HINT}"]
    for _ in range(5):
        assert lines.news(_job(f"retrying: {REFUSED}")) == []
    assert lines.news(_job(f"retrying: {PROXY}")) == [f"retrying: {PROXY} {HINT}"]
    assert lines.news(_job("1.0 MiB of 4.0 MiB")) == []  # bytes flow: the bar says so
    assert lines.news(_job(f"retrying: {PROXY}")) == []  # the same trouble again: no news


def test_a_new_run_that_retries_is_said_again() -> None:
    lines = RetryLines(7, shows_notes=True)
    lines.news(_job(f"retrying: {REFUSED}"))
    # the follower shows the wait from the notification the run left: nothing from here
    assert lines.news(_job(f"retrying: http://h/x: {REFUSED}", state="waiting")) == []
    assert lines.news(_job("starting")) == []
    assert lines.news(_job(f"retrying: {REFUSED}")) == [f"retrying: {REFUSED} {HINT}"]


def test_a_run_given_up_is_said_where_the_record_has_no_notification() -> None:
    lines = RetryLines(7)
    lines.news(_job(f"retrying: {REFUSED}"))
    assert lines.news(_job("", state="waiting")) == [
        f"this run gave up; the job waits for its delay (backoff), then retries: {REFUSED}"
    ]
    assert lines.news(_job("", state="waiting")) == []
    lines.news(_job(f"retrying: {REFUSED}"))
    assert lines.news(_job("", state="cancelled")) == []  # ended: the end says how


def test_the_bar_prints_the_retrying_line_once_above_itself() -> None:
    out = io.StringIO()
    bar = ProgressBar(7, console=Console(file=out, width=200, force_terminal=False))
    for _ in range(3):
        bar.show(_job(f"retrying: {REFUSED}", transferred_download_bytes=0))
    bar.close()
    lines = [line for line in out.getvalue().splitlines() if line.startswith("job 7: ")]
    assert lines == [f"job 7: retrying: {REFUSED} {HINT}"]


class _Connection:
    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        self.jobs = jobs

    def request(self, method: str, path: str, query: dict[str, Any]) -> dict[str, Any]:
        return {"jobs": self.jobs, "version": 1}


class _Cli:
    json_output = False
    home = Path("/nonexistent")

    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        self.jobs = jobs

    def connection(self, autostart: bool = True) -> _Connection:
        return _Connection(self.jobs)


def test_the_batch_view_says_a_file_retries_once_and_when_its_run_gives_up() -> None:
    record = {"app": TRANSFERS_APP, "namespace": None, "job_id": 7, "generation": 1}
    seen: list[dict[str, Any]] = []
    cli = _Cli(seen)
    job = JobInfo.Builder(7, "uidt.transfers.service:HttpDownloadService").build()
    run = BatchRun(cli, [(job, FileState("x", "line 1", 7))], limit=1)  # type: ignore[arg-type]
    slot = run.slots[0]
    slot.scheduled, slot.generation = True, 1
    out = io.StringIO()
    run.view = BatchView([slot.file], console=Console(file=out, width=200, force_terminal=False))
    for step in (
        _job(f"retrying: {REFUSED}"),
        _job(f"retrying: {REFUSED}"),
        _job("", state="waiting"),  # no notification (the app cancelled it)
    ):
        seen[:] = [{**record, **step}]
        run._look(None)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("job 7: ")]
    assert lines == [
        f"job 7: retrying: {REFUSED} {HINT}",
        f"job 7: this run gave up; the job waits for its delay (backoff), then retries: {REFUSED}",
    ]


def test_the_batch_view_says_a_run_gave_up_also_when_the_waiting_record_keeps_its_notification() -> (
    None
):
    """A waiting job's record carries the notification its last run left ("retrying: …"): the
    batch, which shows no why-waiting line of its own, still says the run gave up, once."""
    record = {"app": TRANSFERS_APP, "namespace": None, "job_id": 7, "generation": 1}
    seen: list[dict[str, Any]] = []
    job = JobInfo.Builder(7, "uidt.transfers.service:HttpDownloadService").build()
    run = BatchRun(_Cli(seen), [(job, FileState("x", "line 1", 7))], limit=1)  # type: ignore[arg-type]
    slot = run.slots[0]
    slot.scheduled, slot.generation = True, 1
    out = io.StringIO()
    run.view = BatchView([slot.file], console=Console(file=out, width=200, force_terminal=False))
    left = f"retrying: http://h/x: {REFUSED}"
    for step in (
        _job(f"retrying: {REFUSED}"),
        _job(left, state="waiting", pending_reasons=[9]),
        _job(left, state="waiting", pending_reasons=[9]),
    ):
        seen[:] = [{**record, **step}]
        run._look(None)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("job 7: ")]
    assert lines == [
        f"job 7: retrying: {REFUSED} {HINT}",
        f"job 7: this run gave up; the job waits for its delay (backoff), then retries: {REFUSED}",
    ]


def test_the_bar_says_the_wait_once_in_its_own_words_not_twice() -> None:
    out = io.StringIO()
    bar = ProgressBar(7, console=Console(file=out, width=200, force_terminal=False))
    bar.show(_job(f"retrying: {REFUSED}", transferred_download_bytes=0))
    for _ in range(2):
        bar.show(_job(f"retrying: {REFUSED}", state="waiting", pending_reasons=[9]))
    bar.close()
    lines = [line for line in out.getvalue().splitlines() if line.startswith("job 7: ")]
    assert lines == [
        f"job 7: retrying: {REFUSED} {HINT}",
        f"job 7: waiting for its delay (backoff) to pass — retrying: {REFUSED}",
    ]

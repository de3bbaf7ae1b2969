"""Which record a follower reads, and what its end means (exit status and message)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from uidt.cli.context import CliContext
from uidt.cli.follow import Target, _final_notification, find, follow, outcome

APP = "uidt.transfers"


def _job(state: str, generation: int, **fields: Any) -> dict[str, Any]:
    return {"app": APP, "namespace": None, "job_id": 7, "generation": generation, "state": state}


def test_an_earlier_run_under_the_same_id_never_answers_for_the_followed_one() -> None:
    jobs = [_job("active", 3), _job("user-stopped", 1), _job("cancelled", 2)]
    assert find(jobs, Target(APP, 7, 3)) == _job("active", 3)
    assert find(jobs, Target(APP, 7, 2)) == _job("cancelled", 2)
    assert find(jobs, Target(APP, 7, 9)) is None
    assert find(jobs, Target(APP, 8, 3)) is None
    assert find(jobs, Target("other.app", 7, 3)) is None


def test_without_a_generation_the_live_job_else_the_last_ended() -> None:
    assert find([_job("finished", 1), _job("active", 2)], Target(APP, 7)) == _job("active", 2)
    assert find([_job("failed", 1), _job("finished", 2)], Target(APP, 7)) == _job("finished", 2)


@pytest.mark.parametrize(
    ("job", "status", "words"),
    [
        ({"state": "finished"}, 0, "job 7 finished"),
        ({"state": "failed", "failure": "HTTP 404"}, 1, "job 7 failed: HTTP 404"),
        ({"state": "failed", "failure": None}, 1, "job 7 failed: no reason given"),
        ({"state": "cancelled"}, 1, "job 7 was cancelled"),
        ({"state": "user-stopped"}, 1, "job 7 was stopped by the user"),
        (None, 1, "how it ended was not recorded"),
    ],
)
def test_only_a_finished_job_exits_0(job: dict[str, Any] | None, status: int, words: str) -> None:
    got_status, line = outcome(job, Target(APP, 7, 1))
    assert got_status == status
    assert words in line


def test_a_paused_transfer_is_not_done_so_following_it_exits_1() -> None:
    """Pause ends the transfer job ``finished`` (its app finished it on the user's click), but
    the file is not there: `--wait` must not exit 0 (a status never lies)."""
    paused = {"state": "finished", "notification": {"title": "Download f.iso paused"}}
    status, line = outcome(paused, Target(APP, 7, 1))
    assert status == 1
    assert "paused" in line
    assert "uidt resume 7" in line
    done = {"state": "finished", "notification": {"title": "Download f.iso complete"}}
    assert outcome(done, Target(APP, 7, 1))[0] == 0
    # another app's own words are its business: only the transfer app's title is read
    assert outcome(paused, Target("other.app", 7, 1))[0] == 0


def test_a_paused_transfer_says_where_it_stopped_from_its_record() -> None:
    paused = {
        "state": "finished",
        "completed": False,
        "incomplete": {"how": "paused", "reason": "paused at 1.0 MiB of 3.0 MiB"},
        "notification": None,
    }
    status, line = outcome(paused, Target(APP, 7, 1))
    assert status == 1
    assert line.startswith("job 7 was paused at 1.0 MiB of 3.0 MiB: its partial file is kept")
    assert "uidt resume 7" in line
    # another app that ends a job incomplete: not done either, in its own words
    status, line = outcome(paused, Target("other.app", 7, 1))
    assert (status, line) == (1, "job 7 ended without completing: paused at 1.0 MiB of 3.0 MiB")
    gave_up = {"state": "finished", "incomplete": {"how": "abandoned", "reason": "no more"}}
    assert outcome(gave_up, Target(APP, 7, 1)) == (1, "job 7 ended without completing: no more")


def test_a_job_gone_to_a_host_with_its_labels_is_said_so_not_as_lost() -> None:
    status, line = outcome(None, Target(APP, 7, 1, host_labels=("gpu-rack",)))
    assert status == 1
    assert line == (
        "job 7 moved to another host of the shared store, one with label gpu-rack; "
        "it goes on there, and this host cannot follow it"
    )
    assert "was not recorded" in outcome(None, Target(APP, 7, 1))[1]


@pytest.fixture
def dying_daemon(tmp_path: Path) -> Iterator[CliContext]:
    """A daemon's socket that says the followed job finished, then dies before it answers the
    next request (the follower's ask for the job's last notification)."""
    cli = CliContext(home=str(tmp_path / "home"), json_output=False)
    cli.paths.ensure()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(cli.paths.socket))
    listener.listen(4)
    finished = {"jobs": [_job("finished", 1)], "version": 2}

    def serve() -> None:
        with listener:
            while True:
                try:
                    client, _ = listener.accept()
                except OSError:
                    return
                with client:
                    head = client.recv(65536)
                    if not head.startswith(b"GET /v1/jobs"):
                        return  # killed before answering: the connection closes, no answer
                    body = json.dumps(finished).encode()
                    client.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
                    )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield cli
    finally:
        listener.close()
        thread.join(10)


def test_a_finished_job_exits_0_though_its_daemon_died_before_the_last_notification_came(
    dying_daemon: CliContext, capsys: pytest.CaptureFixture[str]
) -> None:
    """The job's end is known once a record says it finished; the notification only words the
    last line. A daemon gone before it answered must not turn a completed job into exit 1."""
    assert follow(dying_daemon, Target(APP, 7, 1, "download")) == 0
    assert "job 7 finished" in capsys.readouterr().out


class _Recorder:
    """A daemon connection that answers the notification listing and records each ask."""

    def __init__(self, notifications: list[dict[str, Any]]) -> None:
        self.notifications = notifications
        self.asks: list[tuple[str, str, dict[str, Any] | None]] = []

    def connection(self, *, autostart: bool = True) -> _Recorder:
        return self

    def request(self, method: str, path: str, query: dict[str, Any] | None = None) -> Any:
        self.asks.append((method, path, query))
        if path == "/v1/notifications":
            return {"notifications": self.notifications}
        raise AssertionError(f"--wait asked {path} for one notification")


def test_the_final_notification_is_read_from_the_apps_listing_not_the_whole_dump() -> None:
    """``--wait`` reads one notification at the end: the app's shown ones, not ``dumpsys``
    (every job, ended record and notification of every app)."""
    done = {"app": APP, "id": 7, "title": "Download f complete", "text": "", "progress": 1.0}
    other = {"app": APP, "id": 8, "title": "Download g", "text": "", "progress": 0.5}
    cli = _Recorder([other, done])
    assert _final_notification(cli, Target(APP, 7, 1)) == done  # type: ignore[arg-type]
    assert cli.asks == [("GET", "/v1/notifications", {"app": APP})]
    assert _final_notification(_Recorder([other]), Target(APP, 7, 1)) is None  # type: ignore[arg-type]
    # another app's notification with the same id is not the job's
    stranger = {**done, "app": "other.app"}
    assert _final_notification(_Recorder([stranger]), Target(APP, 7, 1)) is None  # type: ignore[arg-type]


class _OldDaemon:
    """A daemon from before ``job_id``: it ignores the filter and lists the app's every job."""

    def __init__(self) -> None:
        self.asks: list[dict[str, Any]] = []

    def connection(self, *, autostart: bool = True) -> _OldDaemon:
        return self

    def request(self, method: str, path: str, query: dict[str, Any] | None = None) -> Any:
        if path == "/v1/notifications":
            return {"notifications": []}
        assert query is not None
        self.asks.append(query)
        job_7 = _job("finished" if len(self.asks) > 1 else "waiting", 1)
        job_8 = {**_job("failed", 1), "job_id": 8}  # a neighbour that ended badly
        return {"jobs": [job_8, job_7], "version": len(self.asks)}


def test_the_follower_asks_for_its_job_only_and_still_picks_it_from_a_whole_list(
    capsys: pytest.CaptureFixture[str],
) -> None:
    daemon = _OldDaemon()
    assert follow(daemon, Target(APP, 7, 1, "download")) == 0  # type: ignore[arg-type]
    assert all(ask["job_id"] == 7 for ask in daemon.asks)
    assert len(daemon.asks) == 2
    assert "job 7 finished" in capsys.readouterr().out


class _Progressing:
    """A daemon whose job waits, runs (two looks) and finishes; records every ask."""

    def __init__(self) -> None:
        self.asks: list[dict[str, Any]] = []
        self.states = ["waiting", "active", "active", "finished"]

    def connection(self, *, autostart: bool = True) -> _Progressing:
        return self

    def request(self, method: str, path: str, query: dict[str, Any] | None = None) -> Any:
        if path == "/v1/notifications":
            return {"notifications": []}
        assert query is not None
        self.asks.append(query)
        state = self.states[min(len(self.asks), len(self.states)) - 1]
        job = {**_job(state, 1), "transferred_download_bytes": 5, "estimated_download_bytes": 9}
        return {"jobs": [job], "version": len(self.asks)}


def test_into_a_pipe_the_follower_asks_to_be_woken_by_its_jobs_state_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No live bar (stderr a pipe): each long poll names the state last seen, so the daemon
    answers when the job's state moves, not at each progress report (about four a second)."""
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    daemon = _Progressing()
    assert follow(daemon, Target(APP, 7, 1, "download")) == 0  # type: ignore[arg-type]
    waits = [ask.get("while_state") for ask in daemon.asks]
    assert waits == [None, "waiting", "active", "active"]
    assert all("since" in ask and "wait_ms" in ask for ask in daemon.asks[1:])
    assert "job 7 finished" in capsys.readouterr().out


def test_with_a_live_bar_the_follower_is_woken_by_every_change(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    daemon = _Progressing()
    assert follow(daemon, Target(APP, 7, 1, "download")) == 0  # type: ignore[arg-type]
    assert [ask.get("while_state") for ask in daemon.asks] == [None] * 4
    capsys.readouterr()

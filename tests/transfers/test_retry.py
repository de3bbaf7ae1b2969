"""RetryBudget: every kind of failure is bounded, progress earns a fresh count, a link error
waits about a second, a busy server is backed off from, and a run that is used up by trouble
that may pass ends asking to be run again later."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest

from uidt.errors import InconsistentServerError, RetryLaterError, TransferError
from uidt.testing.clock import FakeClock
from uidt.testing.httpserver import Faults, TransferTestServer
from uidt.transfers.download import download
from uidt.transfers.failures import TransientStatusError
from uidt.transfers.notices import Notice
from uidt.transfers.rawhttp import ConnectFailedError
from uidt.transfers.retry import RetryBudget, RetryPolicy
from uidt.transfers.speedfloor import SpeedFloor, TooSlowError

URL = "http://127.0.0.1/f"
PATH = "/f.bin"


def test_progress_starts_the_count_again() -> None:
    budget = RetryBudget(URL, RetryPolicy(retries=2, link_retries=2, jitter=0.0))
    assert budget.failed(ConnectionResetError(), moved=False) == 0.5
    assert budget.failed(ConnectionResetError(), moved=False) == 1.0
    for _ in range(10):
        assert budget.failed(ConnectionResetError(), moved=True) == 0.5
    budget.failed(ConnectionResetError(), moved=False)
    with pytest.raises(RetryLaterError, match="gave up after repeated errors"):
        budget.failed(ConnectionResetError(), moved=False)


def test_too_slow_attempts_are_not_progress() -> None:
    budget = RetryBudget(URL, RetryPolicy(retries=2))
    slow = TooSlowError(SpeedFloor(1024, 60, FakeClock()))
    budget.failed(slow, moved=True)
    budget.failed(slow, moved=True)
    with pytest.raises(TransferError, match=r"stayed below 1\.0 KiB/s for 60 s, 3 times"):
        budget.failed(slow, moved=True)


def test_restarts_are_bounded_and_back_off_after_the_first() -> None:
    budget = RetryBudget(URL, RetryPolicy(retries=3))
    assert budget.restarted(Notice.RESTARTED_SHORT_BODY) == 0.0
    assert budget.restarted(Notice.RESTARTED_SHORT_BODY) == 0.5
    budget.failed(ConnectionResetError(), moved=True)  # progress does not refill restarts
    assert budget.restarted(Notice.RESTARTED_SHORT_BODY) == 1.0
    with pytest.raises(InconsistentServerError, match="fewer bytes than it announced, 4 times"):
        budget.restarted(Notice.RESTARTED_SHORT_BODY)


def test_link_errors_wait_about_a_second_with_jitter() -> None:
    budget = RetryBudget(URL, RetryPolicy(), random.Random(1))
    delays = [budget.failed(ConnectionRefusedError(), moved=False) for _ in range(40)]
    assert 0.375 <= delays[0] <= 0.5
    assert all(0.75 <= delay <= 1.0 for delay in delays[1:])
    assert len(set(delays)) > 1  # jittered: clients that lost one link do not return in step


def test_read_timeouts_in_a_row_are_few() -> None:
    budget = RetryBudget(URL, RetryPolicy(retries=2), random.Random(1))
    budget.failed(TimeoutError(), moved=False)
    budget.failed(TimeoutError(), moved=False)
    with pytest.raises(RetryLaterError, match="TimeoutError"):
        budget.failed(TimeoutError(), moved=False)


def test_an_answer_after_link_errors_starts_the_backoff_from_the_beginning() -> None:
    # The bad day, seed 1: the link came back, a 503 followed 20 link errors, and the old
    # budget (one count for all failures) waited 16 s before the next request.
    budget = RetryBudget(URL, RetryPolicy(), random.Random(1))
    for _ in range(20):
        budget.failed(ConnectionRefusedError(), moved=False)
    assert budget.failed(TransientStatusError(503, "Service Unavailable", None), moved=False) == 0.5


def test_repeated_statuses_from_a_reachable_server_still_back_off() -> None:
    budget = RetryBudget(URL, RetryPolicy(retries=6))
    busy = TransientStatusError(503, "Service Unavailable", None)
    delays = [budget.failed(busy, moved=False) for _ in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
    with pytest.raises(RetryLaterError, match="kept answering HTTP 503"):
        budget.failed(busy, moved=False)


def test_a_link_drop_then_a_429_burst_does_not_use_up_the_run() -> None:
    # The failure the bad day found: ~16 s of link errors, then a 429 burst, ended the job.
    budget = RetryBudget(URL, RetryPolicy(), random.Random(1))
    for _ in range(16):
        budget.failed(ConnectionResetError(), moved=False)
    limited = TransientStatusError(429, "Too Many Requests", 2.0)
    assert [budget.failed(limited, moved=False) for _ in range(6)] == [2.0] * 6


class Script:
    """A sleep that records the delays and moves the server on to the next phase of faults."""

    def __init__(self, server: TransferTestServer, *phases: tuple[int, Faults | None]) -> None:
        self.server = server
        self.phases = list(phases)
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        while self.phases and len(self.delays) >= self.phases[0][0]:
            _, faults = self.phases.pop(0)
            self.server.set_faults(PATH, faults)


@pytest.fixture(params=["splice", "aiohttp"])
def raw_http(request: pytest.FixtureRequest) -> bool:
    return request.param == "splice"


async def test_a_download_outlasts_a_link_drop_and_a_429_burst(
    server: TransferTestServer, payload: bytes, tmp_path: Path, raw_http: bool
) -> None:
    server.add_file(PATH, payload)
    server.set_faults(PATH, Faults(reset_after=0))  # the link is down: every request is cut
    script = Script(server, (16, Faults(status=429, retry_after="2", times=6)), (22, None))
    dest = tmp_path / "f.bin"
    await download(server.url(PATH), dest, sleep=script, raw_http=raw_http)
    assert dest.read_bytes() == payload
    assert all(delay <= 1.0 for delay in script.delays[:16])
    assert script.delays[16:] == [2.0] * 6  # Retry-After honoured


async def test_a_503_once_the_link_is_back_is_retried_at_once(
    server: TransferTestServer, payload: bytes, tmp_path: Path, raw_http: bool
) -> None:
    server.add_file(PATH, payload)
    server.set_faults(PATH, Faults(reset_after=0))
    script = Script(server, (10, Faults(status=503, times=1)), (11, None))
    dest = tmp_path / "f.bin"
    await download(server.url(PATH), dest, sleep=script, raw_http=raw_http)
    assert dest.read_bytes() == payload
    assert script.delays[10] == 0.5  # not 16 s of idling on a working link
    assert sum(script.delays) < 11.0


async def test_a_run_that_stored_bytes_says_so_when_it_runs_out(
    server: TransferTestServer, payload: bytes, tmp_path: Path, raw_http: bool
) -> None:
    server.add_file(PATH, payload)
    server.set_faults(PATH, Faults(reset_after=100 * 1024, times=1))
    script = Script(server, (1, Faults(status=503)))
    with pytest.raises(RetryLaterError, match="kept answering HTTP 503") as raised:
        await download(server.url(PATH), tmp_path / "f.bin", sleep=script, raw_http=raw_http)
    assert raised.value.progressed is True
    assert not (tmp_path / "f.bin").exists()


def _unresolved(code: int) -> ConnectFailedError:
    return ConnectFailedError("no-such-host.invalid", 80, socket.gaierror(code, "x"))


def test_a_name_that_does_not_exist_ends_the_run_after_a_few_asks() -> None:
    budget = RetryBudget(URL, RetryPolicy(name_retries=2, jitter=0.0))
    assert budget.failed(_unresolved(socket.EAI_NONAME), moved=False) == 0.5
    assert budget.failed(_unresolved(socket.EAI_NONAME), moved=False) == 1.0
    with pytest.raises(RetryLaterError, match=r"cannot reach no-such-host\.invalid:80"):
        budget.failed(_unresolved(socket.EAI_NONAME), moved=False)


@pytest.mark.parametrize(
    "transient",
    [_unresolved(socket.EAI_AGAIN), ConnectionRefusedError(), OSError(101, "down")],
    ids=["resolver-unreachable", "refused", "network-down"],
)
def test_trouble_that_passes_stays_retried_for_the_link_budget(transient: OSError) -> None:
    budget = RetryBudget(URL, RetryPolicy(name_retries=2, link_retries=20))
    for _ in range(20):
        budget.failed(transient, moved=False)
    with pytest.raises(RetryLaterError):
        budget.failed(transient, moved=False)


def test_a_name_found_again_starts_its_count_again() -> None:
    budget = RetryBudget(URL, RetryPolicy(name_retries=1))
    budget.failed(_unresolved(socket.EAI_NONAME), moved=False)
    budget.failed(ConnectionRefusedError(), moved=False)  # resolved, then refused
    budget.failed(_unresolved(socket.EAI_NONAME), moved=False)
    with pytest.raises(RetryLaterError):
        budget.failed(_unresolved(socket.EAI_NONAME), moved=False)

"""upload() under trouble that may pass: the same RetryBudget as downloads (a link error waits
about a second, 60 in a row; statuses back off; any answer refills the link count), a run used
up by such trouble ends with RetryLaterError, and a server that lies about its offset is caught.

Everything runs against the loopback test server; ``bytes_sent`` of the upload's path counts
the body bytes the server received, over all requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from uidt.errors import InconsistentServerError, RetryLaterError
from uidt.testing.httpserver import Faults, RecordingSleep, RequestRecord, TransferTestServer
from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.notices import Notice
from uidt.transfers.retry import RetryPolicy
from uidt.transfers.upload import upload, upload_checkpoint_path

MiB = 1024 * 1024
FILES = "/files/"
UPLOAD = "/files/1"  # the first upload the test server creates


@pytest.fixture
def source(tmp_path: Path, payload: bytes) -> Path:
    path = tmp_path / "photo.raw"
    path.write_bytes(payload)
    return path


class Script:
    """A sleep that records the delays and moves the server on to the next phase of faults
    (on the creation endpoint and the upload alike)."""

    def __init__(self, server: TransferTestServer, *phases: tuple[int, Faults | None]) -> None:
        self.server = server
        self.phases = list(phases)
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        while self.phases and len(self.delays) >= self.phases[0][0]:
            _, faults = self.phases.pop(0)
            for path in (FILES, UPLOAD):
                self.server.set_faults(path, faults)


def _patch_starts(server: TransferTestServer) -> list[int]:
    return [r.start for r in server.requests if r.method == "PATCH" and r.status == 204]


def _held(server: TransferTestServer) -> bytes:
    assert len(server.uploads) == 1
    return bytes(server.uploads["1"])


async def test_a_tus_upload_outlasts_a_link_drop_and_a_429_burst(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    # The bad day's failure, on an upload: the link drops after 1 MiB for 16 attempts (about
    # 16 s), then the server answers 429 six times. The old budget (6 failures of any kind)
    # failed the job; now the upload goes on and sends no byte the server already had.
    server.set_faults(UPLOAD, Faults(reset_after=MiB, times=2))  # HEAD, then the PATCH is cut
    script = Script(
        server, (1, Faults(drop=True)), (17, Faults(status=429, retry_after="2")), (23, None)
    )
    result = await upload(source, server.url(FILES), sleep=script)
    assert _held(server) == payload
    assert all(delay <= 1.0 for delay in script.delays[:17])
    assert script.delays[17:] == [2.0] * 6  # Retry-After honoured
    assert server.bytes_sent(UPLOAD) == len(payload)  # nothing sent twice
    assert result.resumed_from == 0
    assert Notice.RETRIED in result.notices


async def test_a_503_burst_after_a_link_reset_backs_off_from_the_start(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    server.set_faults(UPLOAD, Faults(reset_after=MiB, times=2))
    script = Script(server, (1, Faults(status=503)), (7, None))
    await upload(source, server.url(FILES), sleep=script)
    assert _held(server) == payload
    assert script.delays[1:] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
    assert server.bytes_sent(UPLOAD) == len(payload)


async def test_a_link_that_stays_down_ends_the_run_asking_to_retry_later(
    server: TransferTestServer, source: Path, no_wait: RecordingSleep
) -> None:
    server.set_faults(FILES, Faults(drop=True))
    with pytest.raises(RetryLaterError, match="gave up after repeated errors") as raised:
        await upload(source, server.url(FILES), sleep=no_wait)
    assert raised.value.progressed is False
    assert len(no_wait.delays) == RetryPolicy().link_retries
    assert all(delay <= 1.0 for delay in no_wait.delays)


async def test_a_used_up_run_says_it_progressed_and_the_next_resumes_at_the_servers_offset(
    server: TransferTestServer, source: Path, payload: bytes
) -> None:
    server.set_faults(UPLOAD, Faults(reset_after=MiB, times=2))
    # The link comes back, the server says it holds 1 MiB, then every PATCH gets 503.
    script = Script(server, (1, Faults(status=503, methods=frozenset({"PATCH"}))))
    with pytest.raises(RetryLaterError, match="kept answering HTTP 503") as raised:
        await upload(source, server.url(FILES), sleep=script)
    assert raised.value.progressed is True
    assert Checkpoint(upload_checkpoint_path(source)).load() is not None
    assert server.bytes_sent(UPLOAD) == MiB

    server.set_faults(UPLOAD, None)
    result = await upload(source, server.url(FILES), sleep=RecordingSleep())
    assert _held(server) == payload
    assert result.resumed_from == MiB
    assert result.bytes_sent == len(payload) - MiB
    assert server.bytes_sent(UPLOAD) == len(payload)  # no acknowledged byte sent again
    assert Notice.RESUMED in result.notices
    assert not upload_checkpoint_path(source).exists()


async def test_a_plain_put_used_up_ends_the_run_and_the_next_starts_from_zero(
    server: TransferTestServer, source: Path, payload: bytes, no_wait: RecordingSleep
) -> None:
    server.set_faults("/put/x", Faults(status=503))
    with pytest.raises(RetryLaterError, match="kept answering HTTP 503") as raised:
        await upload(source, server.url("/put/x"), sleep=no_wait)
    assert raised.value.progressed is False
    server.set_faults("/put/x", None)
    result = await upload(source, server.url("/put/x"), sleep=no_wait)
    assert server.put_bodies["/put/x"] == payload
    assert result.resumed_from == 0
    assert result.bytes_sent == len(payload)


# -- hostile servers ---------------------------------------------------------------------------


async def test_a_server_claiming_the_whole_file_before_a_byte_was_sent_is_not_believed(
    server: TransferTestServer, source: Path, payload: bytes, no_wait: RecordingSleep
) -> None:
    # Before: HEAD's offset equal to the size ended the upload "finished" with nothing sent.
    server.set_faults(UPLOAD, Faults(offset_delta=len(payload)))
    with pytest.raises(InconsistentServerError, match=r"claims .* but only 0 were sent"):
        await upload(source, server.url(FILES), sleep=no_wait)
    assert server.bytes_sent(UPLOAD) == 0


async def test_a_patch_answer_claiming_more_than_was_sent_is_not_believed(
    server: TransferTestServer, source: Path, payload: bytes, no_wait: RecordingSleep
) -> None:
    server.set_faults(UPLOAD, Faults(offset_delta=1000, methods=frozenset({"PATCH"})))
    with pytest.raises(InconsistentServerError, match=r"claims \d+ bytes"):
        await upload(source, server.url(FILES), sleep=no_wait)


async def test_a_server_offset_past_the_end_of_the_file_is_not_believed(
    server: TransferTestServer, source: Path, payload: bytes, no_wait: RecordingSleep
) -> None:
    server.set_faults(UPLOAD, Faults(offset_delta=len(payload) + 1))
    with pytest.raises(InconsistentServerError, match=rf"of a {len(payload)}-byte upload"):
        await upload(source, server.url(FILES), sleep=no_wait)


async def test_a_server_that_loses_acknowledged_bytes_once_gets_them_again(
    server: TransferTestServer, source: Path, payload: bytes, no_wait: RecordingSleep
) -> None:
    server.set_faults(UPLOAD, Faults(reset_after=MiB, times=4))  # two PATCHes cut at +1 MiB
    heads = 0

    def lose_on_the_third_head(record: RequestRecord) -> None:
        nonlocal heads
        if record.path == UPLOAD and record.method == "HEAD":
            heads += 1
            if heads == 3:  # it said 1 MiB, then stores 2 MiB, then forgets all but 512 KiB
                del server.uploads["1"][512 * 1024 :]

    server.on_request = lose_on_the_third_head
    result = await upload(source, server.url(FILES), sleep=no_wait)
    assert _held(server) == payload
    assert Notice.RESENT_LOST in result.notices
    assert _patch_starts(server) == [512 * 1024]
    # what it had lost (1.5 MiB), and nothing else, was sent again
    assert server.bytes_sent(UPLOAD) == len(payload) + 2 * MiB - 512 * 1024


async def test_a_server_that_keeps_losing_acknowledged_bytes_fails_clearly(
    server: TransferTestServer, source: Path, no_wait: RecordingSleep
) -> None:
    server.set_faults(UPLOAD, Faults(reset_after=MiB))  # every PATCH is cut after 1 MiB

    def forget_past_one_mib(record: RequestRecord) -> None:
        data = server.uploads.get("1")
        if record.method == "HEAD" and data is not None and len(data) > MiB:
            del data[:]

    server.on_request = forget_past_one_mib
    with pytest.raises(InconsistentServerError, match="lost bytes it had acknowledged, 7 times"):
        await upload(source, server.url(FILES), sleep=no_wait)

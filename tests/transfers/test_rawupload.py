"""Upload bodies with sendfile(2) (uidt.transfers.rawupload, through upload()): byte-exact on
the loopback server's /put/ sink and tus endpoint, a server that resets mid-body, a file that
changes under the upload, a server that refuses before the body is in; https:// and proxied
URLs keep the aiohttp path."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from uidt.errors import RemoteError
from uidt.testing.httpserver import Faults, RecordingSleep, TransferTestServer
from uidt.transfers.proxy import ProxySettings
from uidt.transfers.rawupload import sendfile_fits
from uidt.transfers.request import RequestOptions
from uidt.transfers.upload import SourceChangedError, TusPolicy, UploadMode, upload

MiB = 1024 * 1024
#: Larger than every socket buffer between client and server on loopback, so a paused server
#: holds the client in the middle of the body.
BIG = 32 * MiB


@pytest.fixture
def sendfile_bytes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The bytes each real ``os.sendfile`` call moved (the call itself is unchanged)."""
    moved: list[int] = []
    real = os.sendfile

    def counting(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        done = real(out_fd, in_fd, offset, count)
        moved.append(done)
        return done

    monkeypatch.setattr(os, "sendfile", counting)
    return moved


def _source(tmp_path: Path, size: int) -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / "up.bin"
    path.write_bytes(data)
    return path, data


@pytest.mark.parametrize("tus", [TusPolicy.PREFER, TusPolicy.REQUIRE])
async def test_a_plain_put_and_tus_patches_go_out_by_sendfile_byte_exact(
    server: TransferTestServer, tmp_path: Path, sendfile_bytes: list[int], tus: TusPolicy
) -> None:
    source, data = _source(tmp_path, 5 * MiB + 123)
    url = server.url("/files/" if tus is TusPolicy.REQUIRE else "/put/up.bin")
    result = await upload(source, url, tus=tus)
    if tus is TusPolicy.REQUIRE:
        assert result.mode is UploadMode.TUS
        assert bytes(next(iter(server.uploads.values()))) == data
    else:
        assert result.mode is UploadMode.PLAIN
        assert server.put_bodies["/put/up.bin"] == data
    assert sum(sendfile_bytes) == len(data) == result.bytes_sent
    assert len(sendfile_bytes) >= 3  # bounded steps, the file checked between them


async def test_raw_http_false_keeps_the_aiohttp_path(
    server: TransferTestServer, tmp_path: Path, sendfile_bytes: list[int]
) -> None:
    source, data = _source(tmp_path, MiB)
    await upload(source, server.url("/put/up.bin"), raw_http=False)
    assert server.put_bodies["/put/up.bin"] == data
    assert sendfile_bytes == []


async def test_https_keeps_the_aiohttp_path(
    tmp_path: Path, sendfile_bytes: list[int], self_signed_tls: object, self_signed_cert: Path
) -> None:
    source, data = _source(tmp_path, MiB)
    async with TransferTestServer(ssl_context=self_signed_tls) as tls:  # type: ignore[arg-type]
        request = RequestOptions(cacert=str(self_signed_cert))
        await upload(source, tls.url("/put/up.bin"), request=request)
        assert tls.put_bodies["/put/up.bin"] == data
    assert sendfile_bytes == []


def test_only_plain_http_straight_to_the_server_takes_sendfile() -> None:
    direct = RequestOptions()
    proxied = RequestOptions(proxy=ProxySettings(proxy="http://127.0.0.1:3128"))
    assert sendfile_fits("http://127.0.0.1:8000/put/x", direct)
    assert not sendfile_fits("https://127.0.0.1:8000/put/x", direct)
    assert not sendfile_fits("http://127.0.0.1:8000/put/x", proxied)


@pytest.mark.parametrize("path", ["/put/up.bin", "/files/"])
async def test_a_server_that_resets_mid_body_gets_the_whole_file_on_the_retry(
    server: TransferTestServer,
    tmp_path: Path,
    no_wait: RecordingSleep,
    sendfile_bytes: list[int],
    path: str,
) -> None:
    source, data = _source(tmp_path, 4 * MiB)
    methods = frozenset({"PUT", "PATCH"})
    # `times` counts every request of the path: OPTIONS or HEAD, then the body request.
    faults = Faults(reset_after=MiB, times=2, methods=methods)
    server.set_faults("/files/1" if path == "/files/" else path, faults)  # the first upload
    result = await upload(source, server.url(path), sleep=no_wait)
    got = server.put_bodies.get(path) or bytes(next(iter(server.uploads.values()), b""))
    assert got == data
    assert result.attempts == 2
    assert len(no_wait.delays) == 1


Change = Callable[[Path], None]


def _truncate(path: Path) -> None:
    os.truncate(path, MiB)


def _grow(path: Path) -> None:
    with open(path, "ab") as handle:
        handle.write(b"more")


def _rewrite(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.seek(BIG - 10)
        handle.write(b"0123456789")
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a coarse clock


def _replace(path: Path) -> None:
    other = path.with_name("other")
    other.write_bytes(path.read_bytes())
    os.utime(other, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns))
    other.replace(path)


@pytest.mark.parametrize(
    ("target", "change", "raw_http"),
    [
        ("/put/up.bin", _truncate, True),
        ("/put/up.bin", _grow, True),
        ("/put/up.bin", _rewrite, True),
        ("/put/up.bin", _replace, True),
        ("/files/", _truncate, True),
        ("/files/", _grow, True),
        ("/put/up.bin", _truncate, False),
        ("/put/up.bin", _grow, False),
    ],
)
async def test_a_file_that_changes_during_the_upload_fails_it_and_nothing_is_complete(
    server: TransferTestServer,
    tmp_path: Path,
    no_wait: RecordingSleep,
    target: str,
    change: Change,
    raw_http: bool,
) -> None:
    source, _ = _source(tmp_path, BIG)
    body_path = target if target != "/files/" else "/files/1"
    server.pause(body_path)  # the body is held from its first chunk: the client is mid-way
    arrived = asyncio.Event()
    server.on_request = lambda record: arrived.set() if record.method in ("PUT", "PATCH") else None
    task = asyncio.create_task(upload(source, server.url(target), sleep=no_wait, raw_http=raw_http))
    await asyncio.wait_for(arrived.wait(), 30)
    change(source)
    server.unpause(body_path)
    with pytest.raises(SourceChangedError, match="changed while it was being uploaded"):
        await asyncio.wait_for(task, 30)
    assert server.put_bodies == {}
    for upload_id, held in server.uploads.items():
        assert len(held) < server.upload_lengths[upload_id]
    assert no_wait.delays == []  # a permanent failure: not retried


async def test_a_server_that_refuses_before_the_body_is_in_is_heard(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    source, _ = _source(tmp_path, BIG)
    server.tus_enabled = False
    server.set_faults("/put/up.bin", Faults(require_authorization="Bearer x"))
    with pytest.raises(RemoteError, match="401"):
        await asyncio.wait_for(upload(source, server.url("/put/up.bin"), sleep=no_wait), 30)
    assert no_wait.delays == []


async def test_a_redirect_of_the_body_fails_at_once_on_either_path(
    server: TransferTestServer, tmp_path: Path, no_wait: RecordingSleep
) -> None:
    source, _ = _source(tmp_path, MiB)
    for raw_http in (True, False):
        async with TransferTestServer() as other:
            other.tus_enabled = False
            server.set_faults(
                "/put/x", Faults(redirect_to=other.url("/put/x"), redirect_status=307)
            )
            with pytest.raises(RemoteError, match="redirect that was not followed"):
                await upload(source, server.url("/put/x"), sleep=no_wait, raw_http=raw_http)
            assert other.put_bodies == {}
    assert no_wait.delays == []  # not 60 retries of a redirect that cannot be followed

"""What a cancelled transfer leaves, removed (uidt.transfers.leftovers): an upload's own state
files go, its source never; its tus upload is terminated on a server that offers termination,
forgotten on one that does not; a planted state file is never followed nor believed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from uidt.clock import SystemClock
from uidt.testing.httpserver import Faults, TransferTestServer
from uidt.transfers import leftovers
from uidt.transfers.fence import Fence, Lease
from uidt.transfers.http import new_session
from uidt.transfers.leftovers import clean_up, terminate_upload
from uidt.transfers.partfile import part_path
from uidt.transfers.patience import Patience, upload_patience_path
from uidt.transfers.request import RequestOptions
from uidt.transfers.throttle import Throttle
from uidt.transfers.tus import TusClient
from uidt.transfers.uploadsend import BodyRequests
from uidt.transfers.uploadsource import SourceFile
from uidt.transfers.uploadstate import UploadCheckpoint, upload_checkpoint_path

DATA = os.urandom(64 * 1024 + 3)


def _ignored(count: int, reached: int) -> None:
    pass


async def _half_sent(server: TransferTestServer, source: Path) -> str:
    """A tus upload of ``source`` the server holds half of, with its state saved next to it."""
    endpoint = server.url("/files/")
    async with new_session() as session:
        client = TusClient(session, endpoint, SystemClock())
        upload_url = await client.create(len(DATA), {})
        half = len(DATA) // 2
        with SourceFile(source) as opened:
            bodies = BodyRequests(
                client, opened, Throttle(), raw_http=True, read_timeout=10, on_sent=_ignored
            )
            await client.patch(upload_url, 0, half, bodies.send)
    st = os.stat(source)
    UploadCheckpoint(upload_checkpoint_path(source), endpoint, st.st_size, st.st_mtime_ns).save(
        upload_url
    )
    Patience(source, state=upload_patience_path(source)).ran_out("down", progressed=True, now=1)
    return upload_url


def _extras(server: TransferTestServer, source: Path) -> dict[str, object]:
    return {"source": str(source), "url": server.url("/files/"), "tus": True, "method": "PUT"}


async def test_a_cancelled_upload_removes_its_state_and_terminates_the_tus_upload(
    server: TransferTestServer, tmp_path: Path
) -> None:
    source = tmp_path / "photo.raw"
    source.write_bytes(DATA)
    await _half_sent(server, source)
    assert upload_checkpoint_path(source).exists()
    assert upload_patience_path(source).exists()
    await clean_up(_extras(server, source))
    assert not upload_checkpoint_path(source).exists()
    assert not upload_patience_path(source).exists()
    assert source.read_bytes() == DATA  # the source is never touched
    assert server.terminated == ["1"]
    assert server.uploads == {}


async def test_a_server_without_termination_keeps_the_upload_and_the_url_is_forgotten(
    server: TransferTestServer, tmp_path: Path
) -> None:
    server.termination_enabled = False
    source = tmp_path / "photo.raw"
    source.write_bytes(DATA)
    await _half_sent(server, source)
    await clean_up(_extras(server, source))
    assert not upload_checkpoint_path(source).exists()
    assert source.read_bytes() == DATA
    assert [r.method for r in server.requests].count("DELETE") == 0
    assert len(server.uploads["1"]) == len(DATA) // 2


async def test_a_planted_link_at_the_upload_state_is_not_followed_nor_believed(
    server: TransferTestServer, tmp_path: Path
) -> None:
    source = tmp_path / "photo.raw"
    source.write_bytes(DATA)
    await _half_sent(server, source)
    state = upload_checkpoint_path(source)
    # another file of the user, holding what the state held: a link to it must not be followed
    other = tmp_path / "notes.json"
    held = state.read_bytes()
    other.write_bytes(held)
    state.unlink()
    state.symlink_to(other)
    await clean_up(_extras(server, source))
    assert state.is_symlink()  # left as a link
    assert other.read_bytes() == held  # its target intact
    assert source.read_bytes() == DATA
    assert server.terminated == []  # a state that is not surely the user's names no upload


async def test_a_state_naming_another_endpoint_is_not_terminated(
    server: TransferTestServer, tmp_path: Path
) -> None:
    source = tmp_path / "photo.raw"
    source.write_bytes(DATA)
    await _half_sent(server, source)
    extras = _extras(server, source) | {"url": server.url("/files/other/")}
    await clean_up(extras)
    assert server.terminated == []
    assert not upload_checkpoint_path(source).exists()


async def test_a_server_that_never_answers_the_termination_does_not_hold_the_cancel(
    server: TransferTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "photo.raw"
    source.write_bytes(DATA)
    upload_url = await _half_sent(server, source)
    monkeypatch.setattr(leftovers, "TERMINATE_TIMEOUT", 0.2)
    hold = asyncio.Event()
    answer = server._tus

    async def stuck(*args: Any) -> Any:  # the server takes the request and never answers
        await hold.wait()
        return await answer(*args)

    monkeypatch.setattr(server, "_tus", stuck)
    assert not await terminate_upload(server.url("/files/"), upload_url, {})
    hold.set()
    assert server.terminated == []
    assert len(server.uploads["1"]) == len(DATA) // 2


async def test_the_termination_carries_the_jobs_own_header_fields(
    server: TransferTestServer, tmp_path: Path
) -> None:
    source = tmp_path / "photo.raw"
    source.write_bytes(DATA)
    await _half_sent(server, source)
    token = "Bearer up-7"
    for path in ("/files/", "/files/1"):
        server.set_faults(path, Faults(require_authorization=token))
    request = RequestOptions(headers=(("Authorization", token),))
    await clean_up(_extras(server, source) | {"request": request.to_extras()})
    assert server.terminated == ["1"]


async def test_a_server_that_refuses_the_termination_does_not_undo_the_cancel(
    server: TransferTestServer, tmp_path: Path
) -> None:
    source = tmp_path / "photo.raw"
    source.write_bytes(DATA)
    await _half_sent(server, source)
    server.set_faults("/files/1", Faults(status=500, methods=frozenset({"DELETE"})))
    await clean_up(_extras(server, source))
    assert not upload_checkpoint_path(source).exists()
    assert source.read_bytes() == DATA
    assert server.terminated == []


def test_a_cancelled_download_takes_its_fence_down_too(tmp_path: Path) -> None:
    # on a shared store: a run still writing elsewhere then finds its fence gone, and stops
    dest = tmp_path / "big.iso"
    Fence(dest, Lease("h1", 4)).raise_fence()
    part_path(dest).write_bytes(b"x")
    leftovers.remove_download_leftovers(dest)
    assert os.listdir(tmp_path) == []

"""Sources in turn: which failures move to the next, what the last error says, secrets kept."""

from __future__ import annotations

import pytest

from uidt.errors import NoSpaceError, RemoteError, RetryLaterError, TransferError
from uidt.transfers.mirrors import from_sources, options_for, sources
from uidt.transfers.request import RequestOptions

A, B, C = "http://a/f", "http://b:81/f", "http://a/g"
SECRET = RequestOptions(headers=(("Authorization", "Bearer t"), ("Accept", "*/*")))


def _fetcher(outcomes: dict[str, Exception | str], tried: list[str]):  # type: ignore[no-untyped-def]
    async def fetch(url: str, request: RequestOptions) -> str:
        tried.append(url)
        outcome = outcomes[url]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return fetch


async def test_a_failed_source_gives_way_to_the_next() -> None:
    tried: list[str] = []
    fetch = _fetcher({A: RemoteError("the server answered 404"), B: "ok"}, tried)
    switched: list[str] = []
    result = await from_sources([A, B], SECRET, fetch, on_switch=lambda s, r: switched.append(s))
    assert result == "ok"
    assert tried == [A, B]
    assert switched == [A]


async def test_a_local_failure_ends_at_once() -> None:
    tried: list[str] = []
    fetch = _fetcher({A: NoSpaceError("no space"), B: "ok"}, tried)
    with pytest.raises(NoSpaceError):
        await from_sources([A, B], SECRET, fetch)
    assert tried == [A]


async def test_all_failed_names_each_and_keeps_a_transient_last_retryable() -> None:
    fetch = _fetcher({A: RemoteError("404"), B: RetryLaterError("timed out", progressed=True)}, [])
    with pytest.raises(RetryLaterError, match=r"all 2 sources failed: http://a/f: 404; ") as info:
        await from_sources([A, B], SECRET, fetch)
    assert info.value.progressed
    fetch = _fetcher({A: RetryLaterError("timed out"), B: RemoteError("403")}, [])
    with pytest.raises(TransferError, match="all 2 sources failed") as failed:
        await from_sources([A, B], SECRET, fetch)
    assert not isinstance(failed.value, RetryLaterError)


async def test_one_source_raises_its_own_error_unchanged() -> None:
    error = RemoteError("404")
    with pytest.raises(RemoteError) as info:
        await from_sources([A], SECRET, _fetcher({A: error}, []))
    assert info.value is error


def test_secrets_go_only_to_the_urls_origin() -> None:
    assert options_for(SECRET, C, A) is SECRET
    other = options_for(SECRET, B, A)
    assert other.headers == (("Accept", "*/*"),)
    trusted = RequestOptions(headers=SECRET.headers, location_trusted=True)
    assert options_for(trusted, B, A) is trusted


def test_sources_are_the_url_then_the_mirrors() -> None:
    assert sources({"url": A}) == [A]
    assert sources({"url": A, "mirrors": [B, C]}) == [A, B, C]

"""The checks on a server's answer to a resume, without a server."""

from __future__ import annotations

import pytest

from uidt.errors import InconsistentServerError, ResourceChangedError
from uidt.transfers.notices import Notice
from uidt.transfers.rawhttp import BadResponseError
from uidt.transfers.resumecheck import (
    OVERLAP_BYTES,
    RestartFromZero,
    check_partial,
    check_unsatisfiable,
    parse_span,
    restart_limit_error,
    resume_start,
)

LM = "Thu, 01 Jan 2026 00:00:00 GMT"


def _partial(headers: dict[str, str], **known: object) -> int | None:
    args: dict[str, object] = {"start": 100, "etag": None, "last_modified": None, "total": 1000}
    args.update(known)
    return check_partial(headers, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("bytes 0-9/10", (0, 9, 10)),
        ("bytes 5-9/*", (5, 9, None)),
        ("bytes 9-5/10", None),
        ("bytes */10", None),
        ("bytes a-9/10", None),
        ("bytes 0-9/x", None),
        ("items 0-9/10", None),
        (None, None),
    ],
)
def test_parse_span(value: str | None, parsed: tuple[int, int, int | None] | None) -> None:
    assert parse_span(value) == parsed


def test_resume_start_overlaps_only_without_a_strong_etag() -> None:
    big = 10 * OVERLAP_BYTES
    assert resume_start(0, None) == 0
    assert resume_start(big, '"abc"') == big
    assert resume_start(big, None) == big - OVERLAP_BYTES
    assert resume_start(big, 'W/"abc"') == big - OVERLAP_BYTES
    assert resume_start(10, None) == 0


def test_a_consistent_206_keeps_the_recorded_total() -> None:
    headers = {"Content-Range": "bytes 100-999/1000", "Content-Length": "900", "ETag": '"a"'}
    assert _partial(headers, etag='"a"', last_modified=LM) == 1000
    assert _partial({"Content-Range": "bytes 100-999/*"}) == 1000
    assert _partial({"Content-Range": "bytes 100-999/1000"}, total=None) == 1000


@pytest.mark.parametrize(
    ("headers", "known"),
    [
        ({"Content-Range": "bytes 100-1199/1200"}, {}),  # another length
        ({"Content-Range": "bytes 101-999/1000"}, {}),  # another start
        ({"Content-Range": "bytes 100-999/1000", "ETag": '"b"'}, {"etag": '"a"'}),
        (
            {"Content-Range": "bytes 100-999/1000", "Last-Modified": "Fri, 02 Jan 2026 0:0:0 GMT"},
            {"last_modified": LM},
        ),
    ],
    ids=["length", "start", "etag", "last-modified"],
)
def test_a_206_for_another_version_restarts(
    headers: dict[str, str], known: dict[str, object]
) -> None:
    with pytest.raises(RestartFromZero) as caught:
        _partial(headers, **known)
    assert caught.value.notice is Notice.RESTARTED_RESOURCE_CHANGED


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Content-Range": "bytes 100-999/1000", "Content-Length": "901"},
        {"Content-Range": "bytes 100-999/1000", "Content-Length": "lots"},
        {"Content-Range": "bytes 100-1000/1000"},
    ],
)
def test_a_malformed_206_is_a_transient_fault(headers: dict[str, str]) -> None:
    with pytest.raises(BadResponseError):
        _partial(headers)


def test_416_complete_short_or_changed() -> None:
    check_unsatisfiable(
        {"Content-Range": "bytes */500"}, written=500, etag=None, last_modified=None, total=500
    )
    check_unsatisfiable(
        {"Content-Range": "bytes */500"}, written=500, etag=None, last_modified=None, total=None
    )
    with pytest.raises(RestartFromZero) as short:
        check_unsatisfiable(
            {"Content-Range": "bytes */500"}, written=500, etag=None, last_modified=None, total=600
        )
    assert short.value.notice is Notice.RESTARTED_SHORT_BODY
    for headers, etag in [
        ({"Content-Range": "bytes */400"}, None),
        ({"Content-Range": "bytes */500", "ETag": '"b"'}, '"a"'),
    ]:
        with pytest.raises(RestartFromZero) as changed:
            check_unsatisfiable(headers, written=500, etag=etag, last_modified=None, total=500)
        assert changed.value.notice is Notice.RESTARTED_RESOURCE_CHANGED


def test_restart_limit_errors_say_why_and_how_often() -> None:
    short = restart_limit_error("http://h/f", Notice.RESTARTED_SHORT_BODY, 7)
    assert isinstance(short, InconsistentServerError)
    assert "fewer bytes than it announced, 7 times" in str(short)
    changed = restart_limit_error("http://h/f", Notice.RESTARTED_RESOURCE_CHANGED, 3)
    assert isinstance(changed, ResourceChangedError)
    assert "changed on the server 3 times" in str(changed)
    assert "no Range support" in str(restart_limit_error("u", Notice.RESTARTED_NO_RANGES, 2))
    assert "2 times" in str(restart_limit_error("u", Notice.RESTARTED_BAD_CHECKPOINT, 2))

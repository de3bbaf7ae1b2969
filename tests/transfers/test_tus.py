"""OffsetWatch: every offset a tus server reports is held against the file's size and what was
sent, and a server that loses acknowledged bytes is counted."""

from __future__ import annotations

import pytest

from uidt.errors import InconsistentServerError
from uidt.transfers.tus import OffsetWatch, encode_metadata

URL = "http://127.0.0.1/files/1"


def test_a_new_upload_holds_nothing_until_bytes_go_out() -> None:
    watch = OffsetWatch(URL, 100, 0, limit=2)
    assert watch.reported(0) is False
    with pytest.raises(InconsistentServerError, match="claims 10 bytes, but only 0 were sent"):
        watch.reported(10)
    watch.sending(40)
    assert watch.reported(40) is False
    assert watch.gained == 40


def test_a_resumed_upload_takes_the_first_offset_as_its_start() -> None:
    watch = OffsetWatch(URL, 100, None, limit=2)
    assert watch.gained == 0
    watch.reported(60)
    assert (watch.first, watch.gained) == (60, 0)
    with pytest.raises(InconsistentServerError, match="claims 61 bytes, but only 60"):
        watch.reported(61)


def test_an_offset_past_the_end_is_refused_whatever_was_sent() -> None:
    watch = OffsetWatch(URL, 100, None, limit=2)
    with pytest.raises(InconsistentServerError, match="claims 101 bytes of a 100-byte upload"):
        watch.reported(101)


def test_losses_are_counted_and_bounded_and_do_not_lower_the_progress() -> None:
    watch = OffsetWatch(URL, 100, 0, limit=2)
    watch.sending(100)
    watch.reported(0)
    watch.reported(50)
    assert watch.reported(20) is True
    assert watch.reported(30) is False  # growing again from where it fell is no loss
    assert watch.gained == 50
    assert watch.reported(10) is True
    with pytest.raises(InconsistentServerError, match="lost bytes it had acknowledged, 3 times"):
        watch.reported(0)


def test_encode_metadata() -> None:
    assert encode_metadata({"a": "b", "name": "é"}) == "a Yg==,name w6k="

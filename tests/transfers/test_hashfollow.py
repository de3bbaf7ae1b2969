"""HashFollower: a SHA-256 computed in a thread right behind another writer of the file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from uidt.transfers.hashfollow import HashFollower


def test_digests_at_offsets_match_the_prefixes(tmp_path: Path) -> None:
    data = os.urandom(9 * 1024 * 1024 + 77)  # more than two read blocks
    path = tmp_path / "f"
    path.touch()
    follower = HashFollower(path, hashlib.sha256(), 0)
    marks = []
    with open(path, "ab") as out:
        for end in (100, 5 * 1024 * 1024, len(data)):
            out.write(data[out.tell() : end])
            out.flush()
            follower.feed(end)
            marks.append((end, follower.digest_at(end)))
    for end, digest in marks:
        assert digest.result(timeout=10) == hashlib.sha256(data[:end]).hexdigest()
    follower.close()
    assert follower.hasher.hexdigest() == hashlib.sha256(data).hexdigest()


def test_it_continues_a_hasher_from_an_offset(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    path = tmp_path / "f"
    path.write_bytes(data)
    start = hashlib.sha256(data[:1000])
    follower = HashFollower(path, start, 1000)
    follower.feed(len(data))
    assert follower.digest_at(len(data)).result(timeout=10) == hashlib.sha256(data).hexdigest()
    follower.close()


def test_a_file_shorter_than_fed_is_an_error_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    follower = HashFollower(path, hashlib.sha256(), 0)
    follower.feed(20)
    digest = follower.digest_at(20)
    with pytest.raises(OSError, match="ended at 10, before 20"):
        digest.result(timeout=10)
    with pytest.raises(OSError, match="ended at 10"):
        follower.close()


def test_a_digest_asked_for_an_offset_not_reached_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    follower = HashFollower(path, hashlib.sha256(), 0)
    with pytest.raises(RuntimeError, match="digest at 3 asked at 0"):
        follower.digest_at(3).result(timeout=10)
    follower.close()

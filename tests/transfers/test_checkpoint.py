"""Checkpoint: atomic JSON state next to a file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from uidt.transfers.checkpoint import Checkpoint


def test_save_load_remove(tmp_path: Path) -> None:
    checkpoint = Checkpoint(tmp_path / "f.uidt")
    assert checkpoint.load() is None
    checkpoint.save({"offset": 5, "url": "http://x/"})
    assert checkpoint.load() == {"offset": 5, "url": "http://x/"}
    checkpoint.save({"offset": 9})
    assert checkpoint.load() == {"offset": 9}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.uidt"]  # no temp file left
    checkpoint.remove()
    checkpoint.remove()
    assert checkpoint.load() is None


@pytest.mark.parametrize("content", [b"{broken", b"[1, 2]", b"\xff\xfe", b""])
def test_corrupt_sidecar_is_none_with_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "f.uidt"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert Checkpoint(path).load() is None
    assert "f.uidt" in caplog.text


def test_unserialisable_state_leaves_old_state(tmp_path: Path) -> None:
    checkpoint = Checkpoint(tmp_path / "f.uidt")
    checkpoint.save({"offset": 1})
    with pytest.raises(TypeError):
        checkpoint.save({"offset": object()})
    assert checkpoint.load() == {"offset": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.uidt"]


def test_unreadable_path_is_none(tmp_path: Path) -> None:
    (tmp_path / "dir.uidt").mkdir()
    assert Checkpoint(tmp_path / "dir.uidt").load() is None
    assert "dir.uidt" in repr(Checkpoint(tmp_path / "dir.uidt"))


def test_package_exports_resolve_lazily() -> None:
    import uidt.transfers as transfers

    for name in transfers.__all__:
        assert getattr(transfers, name) is not None
    with pytest.raises(AttributeError):
        _ = transfers.nothing_here

"""open_store URL forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from uidt.errors import StoreError
from uidt.store.memory import MemoryJobStore
from uidt.store.sqlite import SqliteJobStore
from uidt.store.url import open_store, sqlite_path


def test_absolute_sqlite_url(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "jobs.db"
    with open_store(f"sqlite://{target}", tmp_path / "home") as store:
        assert isinstance(store, SqliteJobStore)
        assert store.path == target
    assert target.exists()


def test_bare_sqlite_url_uses_home(tmp_path: Path) -> None:
    assert sqlite_path("sqlite://", tmp_path) == tmp_path / "uidt.db"
    with open_store("sqlite://", tmp_path) as store:
        assert isinstance(store, SqliteJobStore)
    assert (tmp_path / "uidt.db").exists()


def test_relative_sqlite_url_is_under_home(tmp_path: Path) -> None:
    assert sqlite_path("sqlite://data/x.db", tmp_path) == tmp_path / "data" / "x.db"


def test_memory_url(tmp_path: Path) -> None:
    with open_store("memory://", tmp_path) as store:
        assert isinstance(store, MemoryJobStore)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_postgresql_url_without_a_server_is_a_store_error(tmp_path: Path, scheme: str) -> None:
    with pytest.raises(StoreError, match="connecting failed"):
        open_store(f"{scheme}://u@/uidt?host={tmp_path}&port=5999", tmp_path)


def test_unknown_scheme(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unknown store URL"):
        open_store("redis://x", tmp_path)

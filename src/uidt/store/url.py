"""``open_store(url, home)``: pick and open a store from a ``--store`` URL.

Forms:

* ``sqlite:///abs/path/uidt.db`` — the SQLite store at an absolute path;
* ``sqlite://`` — the SQLite store at ``home/uidt.db``; ``sqlite://rel/x.db`` is relative to ``home``;
* ``memory://`` — an in-memory store (nothing survives the process);
* ``postgresql://…`` / ``postgres://…`` — reserved; raises :class:`~uidt.errors.StoreError` for now.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from uidt.errors import StoreError
from uidt.store.base import JobStore
from uidt.store.location import DEFAULT_SQLITE_NAME, sqlite_path
from uidt.store.memory import MemoryJobStore
from uidt.store.sqlite import SqliteJobStore

__all__ = ["DEFAULT_SQLITE_NAME", "open_store", "sqlite_path"]


def open_store(url: str, home: Path) -> JobStore:
    """Open the store a URL names.

    Args:
        url: ``sqlite:///abs/path``, ``sqlite://``, ``memory://`` (``postgresql://`` later).
        home: the daemon's data folder, for relative SQLite paths.

    Raises:
        StoreError: an unknown or not-yet-available scheme, or the store cannot be opened
            (:class:`~uidt.errors.StoreCorruptError`, :class:`~uidt.errors.StoreVersionError`).
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return MemoryJobStore()
    if scheme == "sqlite":
        return SqliteJobStore(sqlite_path(url, home))
    if scheme in ("postgresql", "postgres"):
        raise StoreError("PostgreSQL store not available yet; use sqlite:// or memory://")
    raise StoreError(f"unknown store URL {url!r}; use sqlite:///path, sqlite:// or memory://")

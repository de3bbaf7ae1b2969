"""``open_store(url, home)``: pick and open a store from a ``--store`` URL.

Forms:

* ``sqlite:///abs/path/uidt.db`` — the SQLite store at an absolute path;
* ``sqlite://`` — the SQLite store at ``home/uidt.db``; ``sqlite://rel/x.db`` is relative to ``home``;
* ``memory://`` — an in-memory store (nothing survives the process);
* ``postgresql://…`` / ``postgres://…`` — reserved; raises :class:`~uidt.errors.StoreError` for now.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from uidt.errors import StoreError
from uidt.store.base import JobStore
from uidt.store.memory import MemoryJobStore
from uidt.store.sqlite import SqliteJobStore

DEFAULT_SQLITE_NAME = "uidt.db"


def sqlite_path(url: str, home: Path) -> Path:
    """The file a ``sqlite://`` URL names (see the module doc)."""
    rest = url[len("sqlite://") :]
    if rest.startswith("/"):
        return Path(unquote(rest))
    if not rest:
        return home / DEFAULT_SQLITE_NAME
    return home / unquote(rest)


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

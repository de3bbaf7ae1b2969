"""``open_store(url, home)``: pick and open a store from a ``--store`` URL.

Forms:

* ``sqlite:///abs/path/uidt.db`` — the SQLite store at an absolute path;
* ``sqlite://`` — the SQLite store at ``home/uidt.db``; ``sqlite://rel/x.db`` is relative to ``home``;
* ``memory://`` — an in-memory store (nothing survives the process);
* ``postgresql://…`` / ``postgres://…`` — the shared PostgreSQL store (libpq's URL form; needs
  the ``postgresql`` extra), holding leases under ``host_id`` (docs/fleet.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from uidt.errors import StoreError
from uidt.store.base import JobStore
from uidt.store.location import DEFAULT_SQLITE_NAME, sqlite_path
from uidt.store.memory import MemoryJobStore
from uidt.store.sqlite import SqliteJobStore

__all__ = ["DEFAULT_SQLITE_NAME", "open_store", "sqlite_path"]


def open_store(
    url: str,
    home: Path,
    *,
    host_id: str | None = None,
    lease_ms: int | None = None,
    host_labels: Sequence[str] = (),
) -> JobStore:
    """Open the store a URL names.

    Args:
        url: ``sqlite:///abs/path``, ``sqlite://``, ``memory://``, ``postgresql://…``.
        home: the daemon's data folder, for relative SQLite paths.
        host_id: this host's name in a shared store's leases (default: derived from the machine
            id and the user, :func:`uidt.store.hostid.default_host_id`).
        lease_ms: how long a shared store's lease lasts without a heartbeat.
        host_labels: this host's labels: a shared store's host claims only the jobs whose
            required labels it has (docs/fleet.md).

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
        return _open_postgres(url, host_id, lease_ms, host_labels)
    raise StoreError(
        f"unknown store URL {url!r}; use sqlite:///path, sqlite://, memory:// or postgresql://…"
    )


def _open_postgres(
    url: str, host_id: str | None, lease_ms: int | None, host_labels: Sequence[str]
) -> JobStore:
    try:
        from uidt.store.postgres import DEFAULT_LEASE_MS, PostgresJobStore
    except ImportError as exc:
        raise StoreError(
            f"the PostgreSQL store needs psycopg ({exc.name} is missing): "
            "pip install 'uidt[postgresql]'"
        ) from exc
    from uidt.store.hostid import default_host_id

    return PostgresJobStore(
        url,
        host_id=host_id or default_host_id(),
        lease_ms=lease_ms or DEFAULT_LEASE_MS,
        host_labels=host_labels,
    )

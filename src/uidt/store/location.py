"""Where a ``sqlite://`` store URL points (light: no SQLite, no job types; see ``uidt.store.url``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

DEFAULT_SQLITE_NAME = "uidt.db"


def sqlite_path(url: str, home: Path) -> Path:
    """The file a ``sqlite://`` URL names (see :mod:`uidt.store.url`)."""
    rest = url[len("sqlite://") :]
    if rest.startswith("/"):
        return Path(unquote(rest))
    if not rest:
        return home / DEFAULT_SQLITE_NAME
    return home / unquote(rest)

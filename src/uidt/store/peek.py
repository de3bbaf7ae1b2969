"""A glance into the store before the daemon opens it: which apps have persisted jobs.

A restarted daemon starts the workers its persisted jobs will want before it loads its core
(``uidt.daemon.main``), so it needs the answer before ``uidt.store.sqlite`` and the job types are
imported. This module reads the ``jobs`` table's ``app`` column with a read-only SQLite
connection and nothing else: it never creates, migrates or writes the file (a WAL left by a
killed daemon is read, not checkpointed), and any trouble reads as "no apps". The answer is a
hint for a start-up shortcut; the store proper, opened afterwards, stays the one authority
(and reports a damaged file).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote, urlsplit

from uidt.store.location import sqlite_path

#: How long the glance waits for a lock held by another process before giving up (seconds).
LOCK_WAIT_S = 0.05


def apps_with_persisted_jobs(url: str, home: Path) -> set[str]:
    """The packages that have a persisted job in the store ``url`` names (empty when unknown).

    Only ``sqlite://`` stores have a file to look into; for any other URL, a missing file, or a
    file that is not a uidt store, the answer is the empty set.
    """
    if urlsplit(url).scheme.lower() != "sqlite":
        return set()
    path = sqlite_path(url, home)
    try:
        if not path.is_file():  # a symlink loop reads as no file; a folder we may not read raises
            return set()
        # Resolved: ``sqlite:////abs`` names ``//abs``, which a ``file:`` URI reads as a host.
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    except (OSError, RuntimeError):
        return set()
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=LOCK_WAIT_S)
    except sqlite3.Error:
        return set()
    try:
        rows = conn.execute("SELECT DISTINCT app FROM jobs").fetchall()
    except sqlite3.Error:
        return set()
    finally:
        conn.close()
    return {row[0] for row in rows if isinstance(row[0], str) and row[0]}

"""Numbered schema migrations shipped as ``store/sql/<dialect>/NNNN_name.sql`` files."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from functools import cache
from importlib import resources

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file: its number, name and SQL statements."""

    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(script: str) -> tuple[str, ...]:
    """Split an SQL script into complete statements (comments kept with their statement)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if _has_sql(buffer):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {buffer.strip()!r}")
    return tuple(statements)


def _has_sql(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


@cache
def migrations(dialect: str) -> tuple[Migration, ...]:
    """Every migration of a dialect (``"sqlite"``), ordered by number, numbered 1, 2, 3, …

    Raises:
        ValueError: a file is misnamed or the numbers have a gap (a packaging bug).
    """
    folder = resources.files("uidt.store").joinpath("sql", dialect)
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _NAME.match(entry.name)
        if match is None:
            raise ValueError(f"misnamed migration file {entry.name}")
        script = entry.read_text(encoding="utf-8")
        found.append(Migration(int(match[1]), match[2], split_statements(script)))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise ValueError(
                f"{dialect} migrations must be numbered 1, 2, 3, …; found {migration.version}"
            )
    return tuple(found)

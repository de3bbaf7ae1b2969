"""Migration files: naming, numbering, statement splitting."""

from __future__ import annotations

import pytest

from uidt.store.migrations import migrations, split_statements


def test_sqlite_migrations_are_numbered_from_one() -> None:
    found = migrations("sqlite")
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert all(m.statements for m in found)


def test_split_statements_keeps_semicolons_in_strings_and_drops_comment_tails() -> None:
    script = (
        "-- header\nCREATE TABLE a (x TEXT DEFAULT ';');\nINSERT INTO a VALUES ('1;2');\n-- end\n"
    )
    assert split_statements(script) == (
        "-- header\nCREATE TABLE a (x TEXT DEFAULT ';');",
        "INSERT INTO a VALUES ('1;2');",
    )


def test_split_statements_rejects_an_unterminated_statement() -> None:
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("CREATE TABLE a (x TEXT)")

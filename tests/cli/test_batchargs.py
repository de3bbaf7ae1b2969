"""``-j``'s default comes from the ``transfer_max_concurrent`` setting; ``-i -`` reads stdin."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from uidt.cli.batchargs import BatchArgs
from uidt.cli.context import CliContext
from uidt.errors import InvalidJobError


def test_j_wins_then_the_environment_then_config_then_five(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = CliContext(home=str(tmp_path / "home"), json_output=False)
    monkeypatch.delenv("UIDT_TRANSFER_MAX_CONCURRENT", raising=False)
    assert BatchArgs().limit(cli) == 5
    cli.paths.config_file.parent.mkdir(parents=True, exist_ok=True)
    cli.paths.config_file.write_text("[settings]\ntransfer_max_concurrent = 3\n")
    assert BatchArgs().limit(cli) == 3
    monkeypatch.setenv("UIDT_TRANSFER_MAX_CONCURRENT", "7")
    assert BatchArgs().limit(cli) == 7
    assert BatchArgs(max_concurrent=2).limit(cli) == 2


def test_input_from_stdin_after_the_command_line_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("http://h/b\n  out=c\n"))
    items = BatchArgs(input_file="-").plan(("http://h/a",), output=None, sha256=None)
    assert [(i.where, i.dest.name) for i in items] == [("URL 1", "a"), ("stdin: line 1", "c")]


def test_an_unreadable_input_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidJobError, match="cannot read the input file"):
        BatchArgs(input_file=str(tmp_path / "nope.txt")).plan((), output=None, sha256=None)

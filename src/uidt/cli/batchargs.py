"""The options of ``uidt download`` for many files and mirrors: ``-i``, ``-j``, ``--mirror``.

``-j`` defaults to the ``transfer_max_concurrent`` setting (``config.toml`` or
``UIDT_TRANSFER_MAX_CONCURRENT``; 5, aria2's default for ``-j``).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from uidt.cli.batchinput import BatchItem, InputEntry, check_url, parse_input, plan
from uidt.cli.context import CliContext
from uidt.errors import InvalidJobError
from uidt.job.info import JobInfo


@dataclass(frozen=True)
class BatchArgs:
    """``-i FILE``, ``-j N`` and ``--mirror URL`` as given."""

    input_file: str | None = None
    max_concurrent: int | None = None
    mirror: tuple[str, ...] = ()

    def _input_text(self) -> str:
        assert self.input_file is not None
        if self.input_file == "-":
            return sys.stdin.read()
        try:
            return Path(self.input_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidJobError(f"cannot read the input file {self.input_file}: {exc}") from exc

    def plan(
        self, urls: tuple[str, ...], *, output: str | None, sha256: str | None
    ) -> list[BatchItem]:
        """Every file to download, all checked (see :func:`uidt.cli.batchinput.plan`)."""
        entries = [
            InputEntry(f"URL {n}", [check_url(url, f"URL {n}")])
            for n, url in enumerate(urls, start=1)
        ]
        if self.input_file is not None:
            source = "stdin" if self.input_file == "-" else self.input_file
            entries += parse_input(self._input_text(), source=source)
        return plan(entries, output=output, sha256=sha256, mirrors=self.mirror)

    def limit(self, cli: CliContext) -> int:
        """``-j``, else the ``transfer_max_concurrent`` setting."""
        if self.max_concurrent is not None:
            return self.max_concurrent
        from uidt.settings import Settings  # with tomllib: only a batch without -j reads it

        settings = Settings.from_sources(cli.paths.config_file, os.environ)
        return settings.transfer_max_concurrent

    def run(
        self, cli: CliContext, items: list[BatchItem], jobs: list[JobInfo], *, wait: bool
    ) -> int:
        """Schedule (and with ``wait`` follow) the jobs, at most :meth:`limit` at once."""
        from uidt.cli.batchrun import BatchRun
        from uidt.cli.batchview import FileState

        files = [
            FileState(item.dest.name, item.where, job.job_id)
            for item, job in zip(items, jobs, strict=True)
        ]
        return BatchRun(cli, list(zip(jobs, files, strict=True)), self.limit(cli)).run(wait=wait)


def batch_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``-i``, ``-j`` and ``--mirror``; the command then takes ``batch: BatchArgs``."""

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> Any:
        batch = BatchArgs(
            kwargs.pop("input_file"), kwargs.pop("max_concurrent"), kwargs.pop("mirror")
        )
        return func(*args, batch=batch, **kwargs)

    options = [
        click.option(
            "-i",
            "--input-file",
            default=None,
            metavar="FILE",
            help="Download the URLs listed in FILE ('-': stdin), one file per line, with "
            "optional indented out=, dir=, sha256= lines (aria2's format; see docs/cli.md).",
        ),
        click.option(
            "-j",
            "--max-concurrent",
            type=click.IntRange(min=1),
            default=None,
            metavar="N",
            help="Run at most N of the files at once [default: the transfer_max_concurrent "
            "setting, 5].",
        ),
        click.option(
            "--mirror",
            multiple=True,
            metavar="URL",
            help="Another source of the same file, used when the URL fails or is too slow "
            "(repeatable; a switch restarts from zero, so versions never mix).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command

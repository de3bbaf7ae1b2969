"""Timing marks: one line per mark into the file UIDT_TIMING_MARKS names, nothing otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from uidt.timing import ENV, Mark, mark, read_cpu_marks, read_marks


def test_no_file_no_mark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    mark("nothing")
    assert list(tmp_path.iterdir()) == []


def test_marks_of_several_processes_share_one_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marks = tmp_path / "marks.txt"
    monkeypatch.setenv(ENV, str(marks))
    before = time.monotonic()
    mark("parent.first")
    subprocess.run(
        [sys.executable, "-c", "from uidt.timing import mark; mark('child.only')"],
        check=True,
        timeout=60,
    )
    mark("parent.last")
    read = read_marks(marks)
    assert [name for _, _, name in read] == ["parent.first", "child.only", "parent.last"]
    assert read[0][1] == read[2][1] == os.getpid() != read[1][1]
    stamps = [stamp for stamp, _, _ in read]
    assert before <= stamps[0] <= stamps[1] <= stamps[2] <= time.monotonic()  # one clock


def test_a_mark_that_cannot_be_written_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, str(tmp_path / "no" / "such" / "folder" / "marks.txt"))
    mark("lost")  # no exception: timing never breaks what it measures


def test_malformed_lines_are_skipped(tmp_path: Path) -> None:
    marks = tmp_path / "marks.txt"
    marks.write_text("1.5 42 daemon.run\ngarbage\nx 1 y\n2.0 7 worker.main\n")
    assert read_marks(marks) == [(1.5, 42, "daemon.run"), (2.0, 7, "worker.main")]
    assert read_marks(tmp_path / "missing.txt") == []


def test_each_mark_carries_the_process_cpu_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marks = tmp_path / "marks.txt"
    monkeypatch.setenv(ENV, str(marks))
    mark("parent.first")
    deadline = time.process_time() + 0.02
    while time.process_time() < deadline:  # burn a little CPU between the two marks
        pass
    mark("parent.last")
    (first, second) = read_cpu_marks(marks)
    assert [first.name, second.name] == ["parent.first", "parent.last"]
    assert first.cpu is not None
    assert second.cpu is not None
    assert second.cpu - first.cpu >= 0.02
    assert [name for _, _, name in read_marks(marks)] == ["parent.first", "parent.last"]


def test_a_mark_without_cpu_time_is_read_as_unknown(tmp_path: Path) -> None:
    marks = tmp_path / "marks.txt"
    marks.write_text("1.5 42 daemon.run\n2.0 7 worker.main 0.125\n")
    assert read_cpu_marks(marks) == [
        Mark(1.5, 42, "daemon.run", None),
        Mark(2.0, 7, "worker.main", 0.125),
    ]

"""The combined view of a batch: plain lines into a pipe, the total line, the order on a tty."""

from __future__ import annotations

import io

from rich.console import Console

from uidt.cli.batchview import MAX_LINES, BatchView, FileState, total_line


def _files() -> list[FileState]:
    return [FileState(f"f{n}.bin", f"line {n + 1}", n) for n in range(3)]


def test_total_line_counts_done_failed_and_left() -> None:
    files = _files()
    files[0].state, files[0].done = "finished", 1024
    files[1].state = "failed"
    files[2].state, files[2].done = "active", 1024
    assert total_line(files) == "total: 1/3 done, 1 failed, 1 left · 2.0 KiB"


def test_a_file_whose_job_ended_without_completing_is_never_done() -> None:
    """A paused file's job reads ``finished`` (its app ended it); the file is not there."""
    files = _files()
    files[0].update(
        {
            "state": "finished",
            "completed": False,
            "incomplete": {"how": "paused", "reason": "paused at 1.0 KiB of 4.0 KiB"},
            "transferred_download_bytes": 1024,
            "estimated_download_bytes": 4096,
        }
    )
    assert files[0].state == "paused"
    assert files[0].failure == "ended without completing: paused at 1.0 KiB of 4.0 KiB"
    files[1].update({"state": "finished", "stop_reason": 7, "internal_stop_reason": 1})
    assert files[1].state == "incomplete"  # stopped by the system, not rescheduled
    assert "ended without completing" in files[1].failure
    files[2].update({"state": "finished", "stop_reason": 0, "internal_stop_reason": 10})
    assert files[2].state == "finished"
    assert total_line(files) == "total: 1/3 done, 1 failed, 1 paused, 0 left · 1.0 KiB"
    out = io.StringIO()
    view = BatchView(files, console=Console(file=out, width=200))
    view.ended(files[0])
    assert out.getvalue().splitlines() == [
        "paused f0.bin (line 1): ended without completing: paused at 1.0 KiB of 4.0 KiB"
    ]


def test_into_a_pipe_plain_lines_at_most_every_interval_and_the_last() -> None:
    out = io.StringIO()
    now = [0.0]
    files = _files()
    view = BatchView(files, console=Console(file=out, width=200), clock=lambda: now[0])
    view.refresh()
    view.refresh()  # too soon: nothing
    files[0].state, files[0].done = "finished", 10
    view.ended(files[0])
    files[1].state, files[1].failure = "failed", "the server answered 404"
    view.ended(files[1])
    now[0] = 10.0
    view.refresh()
    view.refresh(last=True)
    view.close()
    assert out.getvalue().splitlines() == [
        "total: 0/3 done, 3 left · 0 B",
        "done f0.bin",
        "failed f1.bin (line 2): the server answered 404",
        "total: 1/3 done, 1 failed, 1 left · 10 B",
        "total: 1/3 done, 1 failed, 1 left · 10 B",
    ]


def test_on_a_terminal_running_files_come_first_and_the_rest_is_counted() -> None:
    out = io.StringIO()
    files = [FileState(f"f{n}.bin", f"line {n}", n) for n in range(MAX_LINES + 5)]
    files[-1].state = "active"
    view = BatchView(files, console=Console(file=out, width=120, force_terminal=True))
    view.refresh()
    view.close()
    text = out.getvalue()
    assert text.index(f"f{MAX_LINES + 4}.bin") < text.index("f0.bin")
    assert "… and 5 more" in text
    assert "total: 0/17 done, 17 left" in text

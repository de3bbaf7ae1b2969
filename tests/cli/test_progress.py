"""The ``--wait`` progress bar and the background import of rich."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from typing import Any

import pytest
from rich.console import Console

from uidt.cli.progress import (
    Frame,
    ProgressBar,
    RateMeter,
    _Line,
    clock_text,
    is_terminal,
    plain_width,
    transferred,
    why_waiting,
)

MiB = 1024 * 1024
#: Cursor movement and colours (rich's live display redraws with these).
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: Decimal units (``MB``, ``kB``, ``MB/s``) or the word ``bytes``: figures in a second unit system.
DECIMAL = re.compile(r"\b\d+(\.\d+)? ?(kB|MB|GB|TB|bytes)\b")


class Ticks:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _job(done: int, total: int | None, text: str = "", state: str = "active") -> dict[str, Any]:
    return {
        "state": state,
        "transferred_download_bytes": done,
        "transferred_upload_bytes": 0,
        "estimated_download_bytes": -1 if total is None else total,
        "estimated_upload_bytes": -1,
        "notification": {"text": text, "progress": None},
    }


def _frames(buffer: io.StringIO) -> list[str]:
    """The visible lines the terminal received (each redraw of the bar is a line of its own)."""
    text = ESCAPE.sub("\n", buffer.getvalue()).replace("\r", "\n")
    return [line.rstrip() for line in text.split("\n") if line.strip()]


def _console(buffer: io.StringIO, width: int = 80) -> Console:
    return Console(file=buffer, width=width, force_terminal=True, color_system=None)


def test_transferred_sums_both_directions_and_known_estimates() -> None:
    job = {
        "transferred_download_bytes": 10,
        "transferred_upload_bytes": 5,
        "estimated_download_bytes": 100,
        "estimated_upload_bytes": -1,
    }
    assert transferred(job) == (15, 100)
    job["estimated_download_bytes"] = -1
    assert transferred(job) == (15, None)


def test_the_bar_at_80_columns_is_one_line_of_iec_figures_that_ends_at_100_percent() -> None:
    buffer, ticks = io.StringIO(), Ticks()
    bar = ProgressBar(2147483647, console=_console(buffer), clock=ticks)
    total = 5 * MiB + 12345
    progress_text = "3.0 MiB of 5.0 MiB · 4.2 MiB/s · 0:01 left"
    bar.show(_job(0, None, "starting", state="waiting"))
    bar.show(_job(0, total, "starting"))
    for step in range(1, 5):
        ticks.now += 0.7
        bar.show(_job(step * MiB, total, progress_text))
    ticks.now += 0.7
    bar.show(_job(4 * MiB + 5, total, progress_text + " · resumed from the last checkpoint"))
    ticks.now += 0.7
    bar.show(_job(4 * MiB + 9, total, progress_text + " · resumed from the last checkpoint"))
    bar.finish({"title": "Download x complete", "text": "5.0 MiB saved", "progress": 1.0})
    frames = _frames(buffer)
    assert frames, buffer.getvalue()
    for frame in frames:
        assert len(frame) <= 80, frame
        assert not DECIMAL.search(frame), frame
    bars = [f for f in frames if f.startswith("job 2147483647 ━")]
    # Every frame after the notice still has the bar, the notice is its own line, printed once.
    assert [f for f in frames if "resumed" in f] == [
        "job 2147483647: resumed from the last checkpoint"
    ]
    assert len(bars) >= 6
    running = [f for f in bars if "left" in f]
    assert running
    assert all("iB/s " in f for f in running), running
    widths = {f.index(" ", len("job 2147483647 ")) for f in bars if "%" in f}
    assert len(widths) == 1  # the bar keeps its width
    assert "·" not in "".join(frames)  # the notification's own figures are not repeated
    assert " 100% " in bars[-1]
    assert "5.0 MiB / 5.0 MiB" in bars[-1]
    assert "left" not in bars[-1]
    assert frames[-1] == bars[-1]


@pytest.mark.parametrize("width", [40, 60, 80, 120])
@pytest.mark.parametrize(
    "frame",
    [
        Frame(7, 1023 * MiB + 999, 1023 * MiB + 1000, 1023.9 * MiB, "59:59:59 left"),
        Frame(2147483647, 3 * MiB, None, 2.5 * MiB, ""),
        Frame(2147483647, 0, None, None, "waiting"),
        Frame(12, 5, 10, None, "ended"),
    ],
)
def test_every_frame_fits_its_width_on_one_line(frame: Frame, width: int) -> None:
    from uidt.cli.progress import _Line

    buffer = io.StringIO()
    _console(buffer, width).print(_Line(frame))
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert len(lines[0]) <= width
    assert re.search(r"\d+%|\d+(\.\d)? (B|KiB|MiB)", lines[0]), lines[0]


def test_a_narrow_terminal_drops_figures_before_the_bar_but_keeps_the_percentage() -> None:
    frame = Frame(7, 3 * MiB, 5 * MiB, 1.5 * MiB, "0:02 left")
    _, bar, fields = frame.layout(80)
    assert bar >= 10
    assert [f.strip() for f in fields] == ["60%", "3.0 MiB / 5.0 MiB", "1.5 MiB/s", "0:02 left"]
    _, bar, fields = frame.layout(50)
    assert bar >= 10
    assert [f.strip() for f in fields] == ["60%", "3.0 MiB / 5.0 MiB"]
    _label, bar, fields = frame.layout(38)
    assert [f.strip() for f in fields] == ["60%"]
    _, bar, fields = Frame(7, 3 * MiB, None, 1.5 * MiB, "").layout(38)
    assert bar >= 10
    assert [f.strip() for f in fields] == ["3.0 MiB"]  # without a total, the size stays


def test_a_job_that_ends_short_of_its_total_never_shows_100_percent() -> None:
    buffer = io.StringIO()
    bar = ProgressBar(3, console=_console(buffer), clock=Ticks())
    bar.show(_job(2 * MiB, 5 * MiB))
    bar.finish({"title": "Download x failed", "text": "404", "progress": None})
    bar.close()  # closing again is harmless
    last = _frames(buffer)[-1]
    assert " 40% " in last
    assert "ended" in last
    assert "100%" not in buffer.getvalue()


def test_the_speed_is_measured_over_the_last_seconds() -> None:
    ticks = Ticks()
    meter = RateMeter(ticks)
    assert meter.rate() is None
    for i in range(20):
        meter.add(i * MiB)
        ticks.now += 1.0
    assert meter.rate() == pytest.approx(MiB)
    assert clock_text(75) == "1:15"
    assert clock_text(3725) == "1:02:05"


def test_prefetch_imports_rich_in_the_background() -> None:
    code = (
        "import sys\n"
        "from uidt.cli import progress\n"
        "assert 'rich.live' not in sys.modules\n"
        "progress.prefetch().join(60)\n"
        "assert 'rich.live' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_into_a_pipe_rich_is_not_prefetched() -> None:
    code = (
        "import sys\n"
        "from uidt.cli import progress\n"
        "assert progress.prefetch_if_shown() is None\n"
        "assert 'rich' not in sys.modules"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, timeout=60, stderr=subprocess.PIPE, env={}
    )


def test_into_a_pipe_the_bar_is_plain_lines_every_few_seconds_and_the_last_frame() -> None:
    pipe, ticks = io.StringIO(), Ticks()
    bar = ProgressBar(5, console=Console(file=pipe, width=80), clock=ticks)
    for step in range(41):  # 20 s of snapshots, two a second
        bar.show(_job(step * MiB // 4, 10 * MiB, "resumed from the last checkpoint"))
        ticks.now += 0.5
    bar.finish({"title": "Download x complete", "progress": 1.0})
    out = pipe.getvalue()
    assert "\x1b" not in out
    assert "\r" not in out
    lines = out.splitlines()
    assert lines[0] == "job 5: resumed from the last checkpoint"
    assert 4 <= len(lines) - 1 <= 6  # 20 s at most every 5 s, plus the final frame
    assert all(line == line.rstrip() and len(line) <= 80 for line in lines)
    assert " 100% " in lines[-1]


def test_into_a_pipe_a_long_notice_stays_one_line() -> None:
    pipe = io.StringIO()
    notice = "the server cannot resume (no Range support); restarted from zero"
    bar = ProgressBar(2147483647, console=Console(file=pipe, width=80), clock=Ticks())
    bar.show(_job(0, None, notice))
    bar.close()
    assert pipe.getvalue().splitlines()[0] == f"job 2147483647: {notice}"


def test_a_job_past_its_estimate_reads_99_percent_until_it_says_it_is_done() -> None:
    buffer = io.StringIO()
    bar = ProgressBar(4, console=_console(buffer), clock=Ticks())
    bar.show(_job(6 * MiB, 5 * MiB))  # a server that sent more than it announced
    assert " 99% " in _frames(buffer)[-1]
    bar.finish({"title": "Download x complete", "progress": 1.0})
    assert " 100% " in _frames(buffer)[-1]


def test_a_waiting_job_says_why_once_with_its_apps_last_word() -> None:
    out = io.StringIO()
    bar = ProgressBar(7, console=Console(file=out, width=80, force_terminal=False))
    backoff = {
        "state": "waiting",
        "pending_reasons": [9],
        "notification": {"text": "retrying: the server answered 503"},
    }
    bar.show(backoff)
    bar.show(backoff)
    bar.show({**backoff, "pending_reasons": [6]})
    bar.close()
    lines = [line for line in out.getvalue().splitlines() if line.startswith("job 7: ")]
    assert lines == [
        "job 7: waiting for its delay (backoff) to pass — retrying: the server answered 503",
        "job 7: waiting for a suitable network — retrying: the server answered 503",
    ]
    assert why_waiting({"state": "active", "pending_reasons": [9]}) == ""


def test_a_transfer_too_short_for_the_bar_still_ends_at_100_percent_with_its_size() -> None:
    out = io.StringIO()
    bar = ProgressBar(7, console=Console(file=out, width=80, force_terminal=False))
    bar.show({"state": "active"})  # seen once, before a byte or an estimate arrived
    ended = {"state": "finished", "estimated_download_bytes": 3 * 1024 * 1024}
    bar.finish({"progress": 1.0, "text": "done"}, ended)
    last = [line for line in out.getvalue().splitlines() if line.startswith("job 7 ")][-1]
    assert " 100% " in last
    assert "3.0 MiB / 3.0 MiB" in last


def _rich_plain(frame: Frame, width: int) -> str:
    """What rich prints for ``frame`` into a file that is not a terminal, ``width`` columns."""
    out = io.StringIO()
    Console(file=out, width=width).print(_Line(frame))
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 120, 40, 20, 9, 3])
@pytest.mark.parametrize(
    "frame",
    [
        Frame(5),
        Frame(5, done=3 * MiB, total=10 * MiB, rate=2.5 * MiB, tail="0:03 left"),
        Frame(2147483647, done=10 * MiB, total=10 * MiB, rate=MiB, tail="in 1:15", complete=True),
        Frame(12, done=7 * MiB, rate=None, tail="waiting"),
    ],
)
def test_into_a_pipe_the_bar_prints_what_rich_would_without_loading_it(
    frame: Frame, width: int
) -> None:
    """Into a pipe or a file the bar is a plain line, written without rich (no ~60 ms of
    imports for a command whose stderr is a pipe); it is the line rich printed there."""
    assert frame.plain_line(width) + "\n" == _rich_plain(frame, width)


def test_a_bar_into_a_pipe_writes_its_frames_and_notices_to_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    ticks = Ticks()
    bar = ProgressBar(5, clock=ticks)  # pytest's stderr is not a terminal
    for step in range(41):  # 20 s of snapshots, two a second
        bar.show(_job(step * MiB // 4, 10 * MiB, "resumed from the last checkpoint"))
        ticks.now += 0.5
    bar.finish({"title": "Download x complete", "progress": 1.0})
    pipe, ticks = io.StringIO(), Ticks()
    rich_bar = ProgressBar(5, console=Console(file=pipe, width=80), clock=ticks)
    for step in range(41):
        rich_bar.show(_job(step * MiB // 4, 10 * MiB, "resumed from the last checkpoint"))
        ticks.now += 0.5
    rich_bar.finish({"title": "Download x complete", "progress": 1.0})
    assert capsys.readouterr().err == pipe.getvalue()


def test_what_counts_as_a_terminal_follows_riches_rules() -> None:
    pipe = io.StringIO()
    assert not is_terminal(pipe, {})
    assert is_terminal(pipe, {"FORCE_COLOR": "1"})
    assert not is_terminal(pipe, {"FORCE_COLOR": ""})
    assert not is_terminal(pipe, {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"})
    assert is_terminal(pipe, {"TTY_COMPATIBLE": "1"})
    for environ in ({}, {"FORCE_COLOR": "1"}, {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"}):
        assert is_terminal(pipe, environ) == Console(file=pipe, _environ=environ).is_terminal


def test_the_plain_width_is_columns_else_a_terminals_else_80(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert plain_width({"COLUMNS": "132"}) == 132
    monkeypatch.setattr("os.get_terminal_size", _no_terminal)
    assert plain_width({}) == 80
    assert plain_width({"COLUMNS": "wide"}) == 80


def _no_terminal(fd: int) -> Any:
    raise OSError(fd, "not a terminal")

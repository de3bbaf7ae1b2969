"""The progress bar of ``uidt download/upload --wait`` (rich, loaded only when it is shown).

One line, one set of figures in IEC units (``KiB``, ``MiB``: the same
:func:`~uidt.units.human_bytes` the notifications use), fitted to the terminal's width: when the
line does not fit, the time left, then the speed, then the sizes (when a percentage is shown) are
dropped before the bar gets shorter than :data:`MIN_BAR`. A notice of the transfer (resumed, restarted from zero, …) is printed once as its
own line above the bar, so the bar never gives way to it. The last frame is drawn from the job's
final notification: 100 % only when the app reported the whole transfer done.

Importing rich costs about 60 ms, so :func:`prefetch` starts that import on a background thread
while the command schedules its job (and, on a cold start, waits for the daemon), and
:class:`ProgressBar` is only created if the job is still running when first looked at. Into a
pipe or a file (stderr not a terminal, :func:`is_terminal`) rich is not loaded at all: the
bar's lines are written as plain text, the same lines rich printed there.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from uidt.cli.retrylines import RetryLines
from uidt.job.reasons import pending_words
from uidt.transfers.notices import NOTICE_TEXT
from uidt.units import human_bytes

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live

_RICH = "rich.live"
#: The bar is never drawn narrower than this; figures are dropped first.
MIN_BAR = 10
#: Nor wider (a wide terminal gets a line shorter than its width, as rich's own bar does).
MAX_BAR = 40
#: The speed is measured over the snapshots of the last this many seconds.
RATE_WINDOW_S = 5.0
#: Into a pipe or a file, a frame is printed at most this often (seconds).
PLAIN_INTERVAL_S = 5.0


def is_terminal(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether rich would draw on ``stream`` as on a terminal (``rich.console.Console``'s rules:
    ``TTY_COMPATIBLE=0/1``, then ``FORCE_COLOR`` set and not empty, then ``isatty()``)."""
    compatible = environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    force_color = environ.get("FORCE_COLOR")
    if force_color is not None:
        return force_color != ""
    isatty = getattr(stream, "isatty", None)
    try:
        return False if isatty is None else bool(isatty())
    except ValueError:  # a closed stream
        return False


def plain_width(environ: Mapping[str, str] = os.environ) -> int:
    """The width rich gives a console that is not a terminal: ``COLUMNS``, else the size of a
    terminal on stdin, stdout or stderr, else 80."""
    width = 0
    for descriptor in (0, 1, 2):
        try:
            width = os.get_terminal_size(descriptor).columns
        except (AttributeError, ValueError, OSError):  # not a terminal
            continue
        break
    columns = environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        width = int(columns)
    return width or 80


def prefetch() -> threading.Thread:
    """Start importing rich in the background (a later import waits for it, never twice)."""
    thread = threading.Thread(target=_import_quietly, name="uidt-import-rich", daemon=True)
    thread.start()
    return thread


def prefetch_if_shown() -> threading.Thread | None:
    """:func:`prefetch` when the bar will draw on a terminal; into a pipe or a file rich is not
    needed (``None``)."""
    return prefetch() if is_terminal(sys.stderr) else None


def _import_quietly() -> None:
    try:
        importlib.import_module(_RICH)
    except Exception:  # the foreground import reports the problem, if it still matters
        return


def transferred(job: dict[str, Any]) -> tuple[int, int | None]:
    """Bytes moved so far and the estimated total (``None``: unknown) of a job snapshot."""
    done = job.get("transferred_download_bytes", 0) + job.get("transferred_upload_bytes", 0)
    estimates = (job.get("estimated_download_bytes", -1), job.get("estimated_upload_bytes", -1))
    return done, sum(x for x in estimates if x > 0) or None


def notices_in(text: str) -> list[str]:
    """The transfer notices (:class:`~uidt.transfers.notices.Notice` sentences) in ``text``."""
    return [sentence for sentence in NOTICE_TEXT.values() if sentence in text]


def clock_text(seconds: float) -> str:
    """``75`` → ``1:15``; ``3725`` → ``1:02:05``."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class RateMeter:
    """Bytes per second over the last :data:`RATE_WINDOW_S` seconds of snapshots."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.samples: deque[tuple[float, int]] = deque()
        self.first: tuple[float, int] | None = None

    def add(self, done: int) -> None:
        now = self.clock()
        if self.first is None:
            self.first = (now, done)
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= RATE_WINDOW_S:
            self.samples.popleft()

    def rate(self) -> float | None:
        """The recent speed, ``None`` until two snapshots at least 0.2 s apart were seen."""
        if len(self.samples) < 2:
            return None
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 - t0 >= 0.2 else None

    def elapsed(self) -> float:
        """Seconds since the first snapshot."""
        return 0.0 if self.first is None else self.clock() - self.first[0]


@dataclass
class Frame:
    """What one frame of the bar says (the pure part: :meth:`layout` fits it to a width).

    The percentage reads 100 only when ``complete`` (the job said it is done): a job that has
    moved all its estimated bytes may still be verifying them, or the estimate may be wrong.
    """

    job_id: int
    done: int = 0
    total: int | None = None
    rate: float | None = None
    tail: str = ""
    complete: bool = False

    def fields(self) -> list[str]:
        """The figures after the bar, most important first."""
        out: list[str] = []
        if self.total:
            percent = max(0, self.done) * 100 // self.total
            out.append(f"{min(percent, 100 if self.complete else 99):3d}%")
        # Padded to their usual widths, so that the bar does not jump as the figures change.
        sizes = human_bytes(self.done).rjust(10)
        out.append(f"{sizes} / {human_bytes(self.total)}" if self.total else sizes)
        known = self.rate is not None and self.rate > 0
        out.append((f"{human_bytes(self.rate)}/s" if known else "").rjust(12))
        out.append(self.tail.ljust(9))
        return out

    def layout(self, width: int) -> tuple[str, int, list[str]]:
        """The label, the bar's width and the figures that fit in ``width`` columns."""
        label = f"job {self.job_id}"
        fields = self.fields()
        while True:
            used = len(label) + sum(len(f) + 1 for f in fields) + 1
            bar = min(MAX_BAR, width - used)
            # Drop the least important figure: the time left, the speed, then the sizes.
            if bar >= MIN_BAR or len(fields) <= 1:
                return label, max(0, bar), fields
            fields = fields[:-1]

    def plain_line(self, width: int) -> str:
        """The frame as one line of text, ``width`` columns at most (what :class:`_Line` shows,
        without its colours, as rich prints it into a file)."""
        label, bar, fields = self.layout(width)
        line = label + (" " + _BAR * bar if bar else "") + "".join(" " + f for f in fields)
        if len(line) > width:  # every character here is one column wide
            line = line[: max(0, width - 1)] + "…"
        return line.rstrip()


class _Line:
    """The rich renderable of the current frame, laid out anew for the console's width."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.text import Text

        width = options.max_width
        label, bar, fields = self.frame.layout(width)
        line = Text(label, style="bold", no_wrap=True, overflow="ellipsis")
        if bar:
            line.append(" ")
            line.append_text(_bar_text(bar, self.frame.done, self.frame.total))
        for field in fields:
            line.append(" " + field)
        line.truncate(width, overflow="ellipsis")
        line.rstrip()
        yield line


#: One column of the bar (done and to do differ only in colour).
_BAR = "━"


def _bar_text(width: int, done: int, total: int | None) -> Any:
    from rich.text import Text

    if not total:
        return Text(_BAR * width, style="bar.back")
    filled = width * min(done, total) // total
    return Text.assemble((_BAR * filled, "bar.complete"), (_BAR * (width - filled), "bar.back"))


def why_waiting(job: dict[str, Any]) -> str:
    """Why a job that is not running waits: its pending reasons, then its app's last word.

    ``"waiting for its delay (backoff) to pass — retrying: the server answered 503"``; empty for
    a running job.
    """
    if job.get("state") == "active":
        return ""
    words = pending_words(
        list(job.get("pending_reasons") or []), job.get("required_host_labels") or ()
    )
    note = job.get("notification") or {}
    said = str(note.get("text") or "").strip()
    return " — ".join(part for part in ("; ".join(words), said) if part)


class ProgressBar:
    """One job's bar: its line on the terminal, and the notices printed above it.

    When the console is not a terminal (a pipe, a file), the frame is printed as a plain line at
    most every :data:`PLAIN_INTERVAL_S` seconds, and the last frame always; without a
    ``console``, that is written to stderr without loading rich.
    """

    def __init__(
        self,
        job_id: int,
        *,
        console: Console | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.frame = Frame(job_id)
        self.meter = RateMeter(clock)
        self.seen_notices: set[str] = set()
        self.retries = RetryLines(job_id, shows_notes=True)
        self.clock = clock
        self.closed = False
        self._last_why = ""
        self._printed_at: float | None = None
        self._live: Live | None = None
        #: ``None``: plain lines to stderr, rich not loaded (stderr is not a terminal).
        self.console: Console | None = console
        if console is None and not is_terminal(sys.stderr):
            return
        from rich.console import Console
        from rich.live import Live

        if self.console is None:
            self.console = Console(stderr=True)
        if self.console.is_terminal:
            self._live = Live(
                _Line(self.frame), console=self.console, auto_refresh=False, transient=False
            )
            self._live.start()

    def show(self, job: dict[str, Any]) -> None:
        """Draw the job snapshot ``job`` (as ``GET /v1/jobs`` lists it)."""
        done, total = transferred(job)
        self.meter.add(done)
        self.frame.done, self.frame.total = done, total
        active = job.get("state") == "active"
        self.frame.rate = self.meter.rate() if active else None
        self.frame.tail = _time_left(done, total, self.frame.rate) if active else job["state"]
        note = job.get("notification") or {}
        said = list(self._new_notices(str(note.get("text") or "")))
        said.extend(self.retries.news(job))  # "retrying: <reason>", once per reason
        why = why_waiting(job)
        if why and why != self._last_why:  # a wait is said once, when its reason changes
            said.append(why)
        self._last_why = why
        for sentence in said:
            # Into a pipe or a file, a long notice stays one line (a terminal wraps it by words).
            line = f"job {self.frame.job_id}: {sentence}"
            if self.console is None:
                _write_plain(line)
            else:
                self.console.print(line, highlight=False, soft_wrap=self._live is None)
        self._refresh()

    def finish(
        self, notification: dict[str, Any] | None, job: dict[str, Any] | None = None
    ) -> None:
        """Draw the last frame from the job's final notification, then leave it on the screen.

        The bar is full only when that notification says the work is done (``progress`` 1.0);
        otherwise it keeps the last bytes seen, never claiming more. ``job``, the job's last
        record, gives the bytes it moved when the bar saw none of them (a short transfer).
        """
        if self.closed:
            return
        if job is not None:
            done, total = transferred(job)
            self.frame.done = max(self.frame.done, done)
            self.frame.total = self.frame.total or total
        progress = None if notification is None else notification.get("progress")
        if progress is not None and progress >= 1.0:
            self.frame.total = self.frame.total or self.frame.done
            self.frame.done = max(self.frame.done, self.frame.total)
            self.frame.complete = True
            moved = self.frame.done - (self.meter.first[1] if self.meter.first else 0)
            elapsed = self.meter.elapsed()
            self.frame.rate = moved / elapsed if elapsed > 0 and moved > 0 else None
            self.frame.tail = f"in {clock_text(elapsed)}"
        else:
            self.frame.rate = None
            self.frame.tail = "ended"
        self._refresh(last=True)
        self.close()

    def close(self) -> None:
        """Leave the last frame of the bar on the terminal (idempotent)."""
        self.closed = True
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _new_notices(self, text: str) -> Iterator[str]:
        for sentence in notices_in(text):
            if sentence not in self.seen_notices:
                self.seen_notices.add(sentence)
                yield sentence

    def _refresh(self, *, last: bool = False) -> None:
        if self._live is not None:
            self._live.refresh()
            return
        now = self.clock()
        if last or self._printed_at is None or now - self._printed_at >= PLAIN_INTERVAL_S:
            if self.console is None:
                _write_plain(self.frame.plain_line(plain_width()))
            else:
                self.console.print(_Line(self.frame))
            self._printed_at = now


def _write_plain(line: str) -> None:
    """One line to stderr, at once (as rich writes it; the follower may wait long after)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _time_left(done: int, total: int | None, rate: float | None) -> str:
    if not total or not rate or rate <= 0 or done >= total:
        return ""
    return f"{clock_text((total - done) / rate)} left"

"""The combined progress view of ``uidt download URL… --wait``: one line per file, one total.

On a terminal (rich, redrawn in place) the view shows the files still to finish, at most
:data:`MAX_LINES` of them (running ones first), and a total line: files done, failed, left, and
bytes. Into a pipe or a file it prints plain lines instead: one when a file ends (``done NAME`` /
``failed NAME: why``) and the total at most every :data:`~uidt.cli.progress.PLAIN_INTERVAL_S`
seconds, and always at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from uidt.cli.progress import PLAIN_INTERVAL_S, transferred
from uidt.job.reasons import Incomplete, incomplete_end_words
from uidt.units import human_bytes

if TYPE_CHECKING:
    from rich.console import Console

#: Files shown one per line on a terminal (the rest are counted on the total line).
MAX_LINES = 12
#: The state of a file whose job ended ``finished`` while the user had paused it, and of one
#: that ended ``finished`` without completing otherwise: neither is done.
PAUSED = "paused"
INCOMPLETE = "incomplete"
#: The states of a file that ended without being done.
NOT_DONE = frozenset({"failed", "cancelled", "user-stopped", "gone", INCOMPLETE})


@dataclass
class FileState:
    """What the view knows of one file of the batch."""

    name: str
    where: str
    job_id: int
    state: str = "waiting"  # "waiting" (not scheduled yet), then the job's state
    done: int = 0
    total: int | None = None
    failure: str = ""

    def update(self, job: dict[str, Any]) -> None:
        self.state = str(job.get("state", self.state))
        done, total = transferred(job)
        self.done, self.total = max(self.done, done), total or self.total
        if job.get("failure"):
            self.failure = str(job["failure"])
        incomplete = job.get("incomplete")
        words = incomplete_end_words(
            self.state, job.get("stop_reason"), job.get("internal_stop_reason"), incomplete
        )
        if words is not None:  # "finished" alone would say the file is there
            paused = isinstance(incomplete, dict) and incomplete.get("how") == Incomplete.PAUSED
            self.state = PAUSED if paused else INCOMPLETE
            self.failure = words

    def line(self) -> str:
        size = human_bytes(self.done) + (f" / {human_bytes(self.total)}" if self.total else "")
        percent = f"{min(99, self.done * 100 // self.total):3d}%" if self.total else "    "
        return f"{self.name[:40]:<40} {percent} {size:>22}  {self.state}"


def total_line(files: list[FileState]) -> str:
    """``"total: 3/10 done, 1 failed, 1 paused, 5 left · 12.0 MiB"``."""
    done = sum(1 for f in files if f.state == "finished")
    failed = sum(1 for f in files if f.state in NOT_DONE)
    paused = sum(1 for f in files if f.state == PAUSED)
    left = len(files) - done - failed - paused
    moved = human_bytes(sum(f.done for f in files))
    failed_text = f", {failed} failed" if failed else ""
    paused_text = f", {paused} paused" if paused else ""
    return f"total: {done}/{len(files)} done{failed_text}{paused_text}, {left} left · {moved}"


class BatchView:
    """Draws the batch's files; :meth:`ended` for each file that ends, :meth:`close` at the end."""

    def __init__(
        self,
        files: list[FileState],
        *,
        console: Console | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from rich.console import Console
        from rich.live import Live

        self.files = files
        self.console = console if console is not None else Console(stderr=True)
        self.clock = clock
        self._printed_at: float | None = None
        self._live: Live | None = None
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, auto_refresh=False)
            self._live.start()

    def _render(self) -> Any:
        from rich.text import Text

        order = {"active": 0, "ready": 1, "pending": 1, "waiting": 2}
        left = [f for f in self.files if f.state in order]
        left.sort(key=lambda f: order[f.state])
        lines = [f.line() for f in left[:MAX_LINES]]
        if len(left) > MAX_LINES:
            lines.append(f"… and {len(left) - MAX_LINES} more")
        lines.append(total_line(self.files))
        return Text("\n".join(lines), no_wrap=True, overflow="ellipsis")

    def ended(self, file: FileState) -> None:
        """Say that ``file`` ended (a line above the view)."""
        if file.state == "finished":
            text = f"done {file.name}"
        elif file.state == PAUSED:
            text = f"paused {file.name} ({file.where}): {file.failure}"
        else:
            text = f"failed {file.name} ({file.where}): {file.failure or file.state}"
        self.console.print(text, highlight=False, soft_wrap=True)

    def refresh(self, *, last: bool = False) -> None:
        if self._live is not None:
            self._live.update(self._render(), refresh=True)
            return
        now = self.clock()
        if last or self._printed_at is None or now - self._printed_at >= PLAIN_INTERVAL_S:
            self.console.print(total_line(self.files), highlight=False, soft_wrap=True)
            self._printed_at = now

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

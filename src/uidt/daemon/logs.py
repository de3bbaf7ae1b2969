"""Daemon logging: a rotating file in the home's ``logs/`` and, in the foreground, stderr.

Every logger of the process is routed there, not only ``uidt``'s: asyncio's own reports (such
as ``socket.accept() out of system resource``) and uvicorn's used to fall through to stderr,
which for an autostarted daemon is ``daemon-start.log``, a file nothing rotates. A
:class:`RepeatFilter` on each handler collapses a message that repeats in a flood.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from uidt.redactlog import redact_log_handlers

LOG_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 3
#: A message may be logged this many times per window; further repeats are counted instead.
REPEAT_BURST = 5
REPEAT_WINDOW_S = 60.0
#: Most distinct messages remembered (the oldest is forgotten first).
REPEAT_KEYS = 1000


@dataclass
class _Seen:
    start: float
    count: int = 0
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """Let a message through :data:`REPEAT_BURST` times per window, then count its repeats.

    Messages are the same when their logger, level and first line agree (a traceback's text
    and any numbers after the first line may differ). The first one let through after a window
    in which repeats were held back says how many: ``… [repeated N times, not shown]``. Time is
    the records' own (``record.created``), so tests can give any.
    """

    def __init__(self, burst: int = REPEAT_BURST, window_s: float = REPEAT_WINDOW_S) -> None:
        super().__init__()
        self.burst = burst
        self.window_s = window_s
        self._seen: dict[tuple[str, int, str], _Seen] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        verdict: bool | None = getattr(record, "uidt_repeat_verdict", None)
        if verdict is None:  # decided once per record, however many handlers share the filter
            verdict = self._decide(record)
            record.uidt_repeat_verdict = verdict
        return verdict

    def _decide(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage().split("\n", 1)[0][:200])
        seen = self._seen.get(key)
        if seen is None or record.created - seen.start >= self.window_s:
            self._seen.pop(key, None)
            if len(self._seen) >= REPEAT_KEYS:
                del self._seen[next(iter(self._seen))]
            self._seen[key] = _Seen(record.created, 1)
            if seen is not None and seen.suppressed:
                _append(record, f" [repeated {seen.suppressed} more times, not shown]")
            return True
        seen.count += 1
        if seen.count < self.burst:
            return True
        if seen.count == self.burst:
            _append(record, f" [repeats in the next {self.window_s:g} s are counted, not shown]")
            return True
        seen.suppressed += 1
        return False


def _append(record: logging.LogRecord, note: str) -> None:
    record.msg = record.getMessage() + note
    record.args = None


#: ``extra=`` names a log call may give, copied into a JSON line when present.
JOB_FIELDS = ("app", "namespace", "job_id", "run_id", "end", "stop_reason")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC), ``level``, ``logger``, ``message``, ``pid``, the
    job's ``app``/``namespace``/``job_id``/``run_id`` (and a run's ``end``/``stop_reason``) where the call gave them
    (``log.info(..., extra={"app": app, "job_id": 5})``), and ``exception`` with its traceback.

    A message with line breaks stays on one line (JSON escapes them).
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for name in JOB_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def setup_logging(
    log_dir: Path, *, foreground: bool, level: int = logging.INFO, json_lines: bool = False
) -> None:
    """Route every logger of the process to ``log_dir/daemon.log`` (and stderr in the foreground).

    ``json_lines``: :class:`JsonFormatter` lines instead of text (``--log-format json``).
    """
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fmt: logging.Formatter = (
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler = logging.handlers.RotatingFileHandler(
        log_dir / "daemon.log", maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handlers: list[logging.Handler] = [handler]
    if foreground:
        handlers.append(logging.StreamHandler(sys.stderr))
    repeats = RepeatFilter()
    for each in handlers:
        each.setFormatter(fmt)
        each.addFilter(repeats)
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    for each in handlers:
        root.addHandler(each)
    redact_log_handlers(root)  # no password of a URL reaches a log
    root.setLevel(logging.WARNING)  # other libraries: their warnings and errors
    uidt = logging.getLogger("uidt")
    uidt.handlers.clear()
    uidt.setLevel(level)
    uidt.propagate = True
    logging.captureWarnings(True)

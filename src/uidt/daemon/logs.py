"""Daemon logging: a rotating file in the home's ``logs/`` and, in the foreground, stderr."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from uidt.redact import redact_log_handlers

LOG_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 3


def setup_logging(log_dir: Path, *, foreground: bool, level: int = logging.INFO) -> None:
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = logging.handlers.RotatingFileHandler(
        log_dir / "daemon.log", maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(fmt)
    root = logging.getLogger("uidt")
    root.handlers.clear()
    root.addHandler(handler)
    if foreground:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(fmt)
        root.addHandler(stream)
    redact_log_handlers(root)  # no password of a URL reaches a log
    root.setLevel(level)
    root.propagate = False

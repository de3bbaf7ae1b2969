"""Log records through :func:`uidt.redact.redact`: no password of a URL reaches a log file.

Apart from :mod:`uidt.redact` so that the command line, which redacts what it prints but
writes no log, does not load :mod:`logging`.
"""

from __future__ import annotations

import logging

from uidt.redact import redact


class RedactingFilter(logging.Filter):
    """A logging filter that passes every record through :func:`redact` (message and args)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # Formatted here, so that the handler's formatter uses the redacted text.
            record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
        return True


_FORMATTER = logging.Formatter()


def redact_log_handlers(logger: logging.Logger) -> None:
    """Put a :class:`RedactingFilter` on each handler of ``logger`` (once)."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())

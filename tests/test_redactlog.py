"""Log records pass through the redaction: no password of a URL reaches a log."""

from __future__ import annotations

import io
import logging

from uidt.errors import RemoteError
from uidt.redactlog import RedactingFilter


def test_the_log_filter_masks_messages_args_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("uidt.test_redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("downloading %s", "https://u:topsecret@h/f")
        try:
            raise RemoteError("https://u:topsecret@h/f: 403")
        except RemoteError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "topsecret" not in text
    assert "downloading https://u:***@h/f" in text
    assert "RemoteError: https://u:***@h/f: 403" in text

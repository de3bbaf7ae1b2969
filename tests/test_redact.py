"""uidt.redact: no password of a URL in anything shown or logged."""

from __future__ import annotations

import io
import logging

from uidt.errors import RemoteError
from uidt.redact import RedactingFilter, redact, redact_error


def test_redact_masks_only_the_password() -> None:
    assert redact("https://bob:s3cret@host/f?x=1") == "https://bob:***@host/f?x=1"
    assert redact("get http://a:b@127.0.0.1:80/x failed, and ftp://c:d@e") == (
        "get http://a:***@127.0.0.1:80/x failed, and ftp://c:***@e"
    )
    assert redact("https://host/f?mail=a@b") == "https://host/f?mail=a@b"
    assert redact("no url here") == "no url here"


def test_redact_error_rewrites_the_message_in_place() -> None:
    error = RemoteError("http://u:pw@h/x: the server answered 404 Not Found")
    assert redact_error(error) is error
    assert "pw" not in str(error)
    assert "u:***@h" in str(error)


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

"""uidt.redact: no password of a URL in anything shown or logged."""

from __future__ import annotations

from uidt.errors import RemoteError
from uidt.redact import redact, redact_error


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

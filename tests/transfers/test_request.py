"""RequestOptions: header checks, secrets kept secret, the redirect rule, the extras form."""

from __future__ import annotations

import base64

import pytest

from uidt.errors import InvalidJobError
from uidt.transfers.credentials import basic_authorization
from uidt.transfers.request import (
    REDACTED,
    RequestOptions,
    merged,
    origin,
    parse_header,
    without_userinfo,
)

TOKEN = "s3cr3t-t0ken-value"


def test_a_header_is_name_colon_value() -> None:
    assert parse_header("Accept: text/plain") == ("Accept", "text/plain")
    assert parse_header("X-Thing:  a: b  ") == ("X-Thing", "a: b")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (f"Authorization Bearer {TOKEN}", "must read 'Name: value'"),
        (f": {TOKEN}", "must read 'Name: value'"),
        (f"Bad Name: {TOKEN}", "not a valid HTTP field name"),
        (f" Accept: {TOKEN}", "blanks around it"),
        (f"X-Token: {TOKEN}\r\nX-Evil: 1", "control character"),
        (f"X-Token: {TOKEN}\n", "control character"),
        ("X-Token:   ", "empty value"),
        ("Range: bytes=0-", "set by uidt itself"),
        ("if-range: x", "set by uidt itself"),
        ("Host: example.org", "set by uidt itself"),
        ("Content-Length: 5", "set by uidt itself"),
        ("X-Token: caf\u00e9\u2603", "not Latin-1"),
    ],
)
def test_a_bad_header_is_one_clear_error_without_the_value(text: str, words: str) -> None:
    with pytest.raises(InvalidJobError, match=words) as caught:
        parse_header(text)
    assert TOKEN not in str(caught.value)


def test_a_header_given_twice_is_refused() -> None:
    with pytest.raises(InvalidJobError, match="given twice"):
        RequestOptions(headers=(("Accept", "a"), ("accept", "b")))


def _options(**kwargs: object) -> RequestOptions:
    headers = (("Authorization", f"Bearer {TOKEN}"), ("Accept", "x/y"), ("X-Key", "k3y-value"))
    return RequestOptions(headers=headers, secret=frozenset({"x-key"}), **kwargs)  # type: ignore[arg-type]


def test_secret_fields_go_to_the_same_origin_only() -> None:
    options = _options()
    start = "http://127.0.0.1:8000/a"
    assert options.headers_for("http://127.0.0.1:8000/b", original=start) == dict(options.headers)
    for other in ("http://127.0.0.1:8001/b", "https://127.0.0.1:8000/b", "http://localhost:8000/"):
        assert options.headers_for(other, original=start) == {"Accept": "x/y"}


def test_location_trusted_keeps_them_everywhere() -> None:
    options = _options(location_trusted=True)
    other = options.headers_for("http://127.0.0.1:9/b", original="http://127.0.0.1:8/a")
    assert other == dict(options.headers)


def test_the_default_port_is_part_of_the_origin() -> None:
    assert origin("https://H/x") == origin("https://h:443/y")
    assert origin("http://h/x") != origin("http://h:8080/x")


def test_scrub_hides_every_secret_value_and_a_basic_password() -> None:
    auth = basic_authorization("me", "pa55word-x")
    options = RequestOptions(headers=(("Authorization", auth), ("Cookie", "sid=abcdef")))
    text = f"failed: {auth} sid=abcdef pa55word-x {auth.split()[1]}"
    scrubbed = options.scrub(text)
    assert "pa55word-x" not in scrubbed
    assert "abcdef" not in scrubbed
    assert auth.split()[1] not in scrubbed
    assert REDACTED in scrubbed
    assert options.shown() == ["Authorization: <redacted>", "Cookie: <redacted>"]


def test_the_extras_form_round_trips_and_is_checked() -> None:
    options = _options(location_trusted=True, cacert="/ca.pem", insecure=False)
    data = options.to_extras()
    assert data["secret"] == ["x-key"]
    assert RequestOptions.from_extras({"request": data}) == options
    assert RequestOptions.from_extras({}) == RequestOptions()
    assert RequestOptions().to_extras() == {}
    for bad in ("x", {"headers": [["A"]]}, {"headers": [["Range", "bytes=0-"]]}, {"cacert": 1}):
        with pytest.raises(InvalidJobError):
            RequestOptions.from_extras({"request": bad})


def test_the_user_fields_are_under_uidts_own() -> None:
    fields = merged({"accept": "a", "X": "1"}, {"Range": "bytes=5-", "Accept": "b"})
    assert fields == {"X": "1", "Range": "bytes=5-", "Accept": "b"}
    assert without_userinfo("http://u:p@h:1/x?q") == "http://h:1/x?q"
    assert without_userinfo("http://h/x") == "http://h/x"


def test_basic_credentials_are_utf8_as_curl_sends_them() -> None:
    value = basic_authorization("jos\u00e9", "p:w")
    assert base64.b64decode(value.split()[1]).decode() == "jos\u00e9:p:w"

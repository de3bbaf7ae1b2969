"""WebAuth: login codes, sessions, CSRF tokens; Host parsing."""

from __future__ import annotations

import pytest

from uidt.testing import FakeClock
from uidt.web.auth import MAX_LOGIN_CODES, WebAuth, host_name, new_token


def test_tokens_are_long_and_random() -> None:
    assert len(new_token()) >= 40
    assert new_token() != new_token()


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="16"):
        WebAuth("short")


def test_codes_work_once_and_give_distinct_sessions() -> None:
    auth = WebAuth(new_token(), FakeClock())
    first, second = auth.new_login_code(), auth.new_login_code()
    session = auth.redeem(first)
    assert session is not None
    assert auth.valid_session(session)
    assert auth.redeem(first) is None
    other = auth.redeem(second)
    assert other not in (None, session)


def test_only_the_newest_codes_are_kept() -> None:
    auth = WebAuth(new_token(), FakeClock())
    oldest = auth.new_login_code()
    for _ in range(MAX_LOGIN_CODES):
        auth.new_login_code()
    assert auth.redeem(oldest) is None


def test_csrf_tokens_belong_to_a_session_and_a_daemon() -> None:
    auth = WebAuth(new_token())
    session = auth.redeem(auth.new_login_code())
    assert session is not None
    token = auth.csrf_token(session)
    assert auth.valid_csrf(session, token)
    assert not auth.valid_csrf(session, None)
    assert not auth.valid_csrf(session, token[:-1] + "0" if token[-1] != "0" else token[:-1] + "1")
    assert not auth.valid_csrf("another", token)
    assert not WebAuth(new_token()).valid_csrf(session, token)


def test_a_logged_out_session_is_gone() -> None:
    auth = WebAuth(new_token())
    session = auth.redeem(auth.new_login_code())
    assert session is not None
    auth.end_session(session)
    assert not auth.valid_session(session)
    assert not auth.valid_session(None)


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("127.0.0.1:8080", "127.0.0.1"),
        ("localhost", "localhost"),
        ("[::1]:8080", "::1"),
        ("LOCALHOST:1", "localhost"),
        ("evil.example:80", "evil.example"),
    ],
)
def test_host_names(header: str, name: str) -> None:
    assert host_name(header) == name

"""The proxy rules, as curl reads them: which variables, NO_PROXY forms, secrets."""

from __future__ import annotations

import pytest

from uidt.errors import InvalidJobError
from uidt.transfers.proxy import Proxy, ProxySettings, no_proxy_matches, parse_proxy
from uidt.transfers.request import RequestOptions

HTTP = "http://files.example.com/f.bin"
HTTPS = "https://files.example.com/f.bin"


def _env(**values: str) -> ProxySettings:
    return ProxySettings.from_environ(values)


def test_http_proxy_is_read_in_lower_case_only() -> None:
    assert _env(HTTP_PROXY="http://p:3128").proxy_for(HTTP) is None
    assert _env(http_proxy="http://p:3128").proxy_for(HTTP) == Proxy("p", 3128)
    assert _env(http_proxy="http://p:3128").proxy_for(HTTPS) is None


def test_https_and_all_proxy_in_either_case_lower_first() -> None:
    assert _env(HTTPS_PROXY="p:1").proxy_for(HTTPS) == Proxy("p", 1)
    assert _env(https_proxy="low:1", HTTPS_PROXY="up:1").proxy_for(HTTPS) == Proxy("low", 1)
    assert _env(ALL_PROXY="all:2").proxy_for(HTTP) == Proxy("all", 2)
    assert _env(ALL_PROXY="all:2").proxy_for(HTTPS) == Proxy("all", 2)
    assert _env(all_proxy="all:2", https_proxy="s:3").proxy_for(HTTPS) == Proxy("s", 3)


def test_no_scheme_means_http_and_no_port_means_1080() -> None:
    assert parse_proxy("proxy.lan") == Proxy("proxy.lan", 1080)


def test_the_flag_wins_and_an_empty_flag_means_no_proxy() -> None:
    env = {"http_proxy": "envp:1"}
    assert ProxySettings.from_environ(env, proxy="flag:2").proxy_for(HTTP) == Proxy("flag", 2)
    assert ProxySettings.from_environ(env, proxy="").proxy_for(HTTP) is None


@pytest.mark.parametrize(
    ("host", "entries", "skipped"),
    [
        ("example.com", "example.com", True),
        ("www.example.com", "example.com", True),
        ("www.example.com", ".example.com", True),
        ("notexample.com", "example.com", False),
        ("EXAMPLE.com.", "example.COM", True),
        ("10.1.2.3", "10.0.0.0/8", True),
        ("11.1.2.3", "10.0.0.0/8", False),
        ("127.0.0.1", "localhost, 127.0.0.1", True),
        ("127.0.0.10", "127.0.0.1", False),
        ("::1", "::1", True),
        ("::1", "[::1]", True),
        ("fe80::5", "fe80::/10", True),
        ("anything.org", "*", True),
        ("anything.org", "a.org b.org", False),
        ("b.org", "a.org b.org", True),
        ("name.lan", "10.0.0.0/8", False),
    ],
)
def test_no_proxy_forms(host: str, entries: str, skipped: bool) -> None:
    assert no_proxy_matches(host, entries) is skipped


def test_noproxy_flag_wins_over_the_environment() -> None:
    env = {"http_proxy": "p:1", "no_proxy": "files.example.com"}
    assert ProxySettings.from_environ(env).proxy_for(HTTP) is None
    assert ProxySettings.from_environ(env, noproxy="other.org").proxy_for(HTTP) is not None


@pytest.mark.parametrize("text", ["socks5://p:1", "https://p:1", "http://:8", "http://p:99999"])
def test_unusable_proxies_are_refused_with_one_line(text: str) -> None:
    with pytest.raises(InvalidJobError, match="--proxy"):
        ProxySettings(proxy=text)


def test_a_refusal_does_not_quote_credentials() -> None:
    with pytest.raises(InvalidJobError) as caught:
        ProxySettings(proxy="http://ann:s3cretpw@p:99999")
    assert "s3cretpw" not in str(caught.value)


def test_proxy_credentials_become_a_secret_basic_field() -> None:
    settings = ProxySettings(https_proxy="http://ann:s3cret%21pw@p:8")
    proxy = settings.proxy_for(HTTPS)
    assert proxy is not None
    assert proxy.authorization == "Basic YW5uOnMzY3JldCFwdw=="
    options = RequestOptions(proxy=settings)
    text = f"job via {settings.https_proxy} with {proxy.authorization} and s3cret!pw"
    scrubbed = options.scrub(text)
    assert "s3cret" not in scrubbed
    assert "YW5uOnMzY3JldCFwdw" not in scrubbed
    assert settings.shown() == ["https_proxy=http://ann:<redacted>@p:8"]


def test_the_settings_travel_in_the_extras() -> None:
    settings = ProxySettings(proxy="p:1", noproxy="a.org", https_proxy="s:2")
    options = RequestOptions(proxy=settings)
    assert RequestOptions.from_extras({"request": options.to_extras()}) == options
    assert "proxy" not in RequestOptions().to_extras()
    with pytest.raises(InvalidJobError):
        RequestOptions.from_extras({"request": {"proxy": {"proxy": 5}}})

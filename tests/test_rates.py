"""Rates as people type them (curl's --limit-rate, rclone's --bwlimit)."""

from __future__ import annotations

import pytest

from uidt.errors import SettingsError
from uidt.rates import format_rate, parse_rate


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("1048576", 1048576),
        ("500K", 500 * 1024),
        ("500k", 500 * 1024),
        ("2M", 2 * 1024 * 1024),
        ("1.5G", 3 * 1024**3 // 2),
        ("1T", 1024**4),
        ("2MiB/s", 2 * 1024 * 1024),
        ("512KB", 512 * 1024),
        (" 5M ", 5 * 1024 * 1024),
        ("off", None),
        ("OFF", None),
        ("0", None),
        ("0K", None),
    ],
)
def test_accepted_forms(text: str, rate: int | None) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "fast", "2X", "-1M", "2 M", "1e6", "M", "2M/h", "0.1"])
def test_a_bad_form_is_one_clear_error(text: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_rate(text, "--limit-rate")
    message = str(raised.value)
    assert message.startswith("--limit-rate: ")
    assert repr(text) in message
    assert "\n" not in message


@pytest.mark.parametrize("rate", [None, 1, 1000, 1024, 1536, 5 * 1024 * 1024, 3 * 1024**3 // 2])
def test_format_reads_back(rate: int | None) -> None:
    assert parse_rate(format_rate(rate)) == rate


def test_format_is_short() -> None:
    assert format_rate(2 * 1024 * 1024) == "2M"
    assert format_rate(512 * 1024) == "512K"
    assert format_rate(None) == "off"

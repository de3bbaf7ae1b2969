"""The bandwidth_limit setting: one rate or an rclone-style timetable."""

from __future__ import annotations

from datetime import datetime

import pytest

from uidt.errors import SettingsError
from uidt.timetable import parse_bandwidth_limit

M = 1024 * 1024
K = 1024
# 2026-11-30 is a Monday.
MON = datetime(2026, 11, 30)


def test_a_single_rate_holds_all_week() -> None:
    schedule = parse_bandwidth_limit("2M")
    assert not schedule.is_timetable
    assert schedule.rate_at(MON) == 2 * M
    assert schedule.next_change(MON) is None
    assert parse_bandwidth_limit("off").rate_at(MON) is None
    assert schedule.describe(MON) == "2M"


def test_a_daily_timetable() -> None:
    schedule = parse_bandwidth_limit("08:00,2M 19:00,off")
    assert schedule.is_timetable
    assert schedule.rate_at(MON.replace(hour=7, minute=59)) is None  # yesterday's 19:00 holds
    assert schedule.rate_at(MON.replace(hour=8)) == 2 * M
    assert schedule.rate_at(MON.replace(hour=18, minute=59)) == 2 * M
    assert schedule.rate_at(MON.replace(hour=19)) is None
    assert schedule.next_change(MON.replace(hour=7, minute=30, second=12)) == MON.replace(hour=8)
    assert schedule.next_change(MON.replace(hour=8)) == MON.replace(hour=19)
    # Sunday evening: the next change is Monday 08:00
    sunday = datetime(2026, 12, 6, 20, 0)
    assert schedule.next_change(sunday) == datetime(2026, 12, 7, 8, 0)
    assert schedule.describe(MON.replace(hour=9)) == '2M now (timetable "08:00,2M 19:00,off")'


def test_weekday_entries_wrap_around_the_week() -> None:
    schedule = parse_bandwidth_limit("Mon-08:00,512K Sat-00:00,off")
    assert schedule.rate_at(MON.replace(hour=7)) is None  # Saturday's entry still holds
    assert schedule.rate_at(MON.replace(hour=8)) == 512 * K
    assert schedule.rate_at(datetime(2026, 12, 4, 23, 59)) == 512 * K  # Friday night
    assert schedule.rate_at(datetime(2026, 12, 5, 0, 0)) is None  # Saturday
    assert schedule.next_change(datetime(2026, 12, 5, 1, 0)) == datetime(2026, 12, 7, 8, 0)


def test_daily_entries_mixed_with_weekly_ones_apply_every_day() -> None:
    schedule = parse_bandwidth_limit("Mon-00:00,512 12:00,1M Sun-20:00,off")
    assert schedule.rate_at(MON.replace(hour=1)) == 512
    assert schedule.rate_at(datetime(2026, 12, 2, 11, 0)) == M  # Wednesday: Tuesday's 12:00
    assert schedule.rate_at(datetime(2026, 12, 6, 19, 0)) == M  # Sunday noon's entry
    assert schedule.rate_at(datetime(2026, 12, 6, 21, 0)) is None


def test_entries_may_span_lines_and_any_order() -> None:
    schedule = parse_bandwidth_limit("19:00,off\n  08:00,2M\n")
    assert schedule.rate_at(MON.replace(hour=12)) == 2 * M


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("08:00,2M 19:00", "line 1, entry 2 ('19:00'): an entry is TIME,RATE"),
        ("08:00,2M 25:00,off", "line 1, entry 2 ('25:00,off'): the time '25:00'"),
        ("08:00,2M\n08:60,1M", "line 2, entry 1 ('08:60,1M'): the time '08:60'"),
        ("Mon-08:00,2M Fry-10:00,off", "entry 2 ('Fry-10:00,off'): the day 'Fry'"),
        ("08:00,2Q", "line 1, entry 1 ('08:00,2Q'): the rate: '2Q' is not a rate"),
        ("08:00,", "the rate is missing"),
        ("8am,2M", "the time '8am'"),
        ("08:00,2M 08:00,off", "entry 2 ('08:00,off'): line 1, entry 1 ('08:00,2M') already"),
        ("Mon-08:00,1M 08:00,off", "entry 2 ('08:00,off'): line 1, entry 1"),
        ("fast", "'fast' is not a rate"),
        ("10M:100K", "separate upload:download limits are not supported"),
        ("   ", "is not a rate"),
        ("08:00,1M " * 1000, "longer than 4096 characters"),
    ],
)
def test_a_mistake_is_one_clear_error_naming_where(text: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_bandwidth_limit(text)
    message = str(raised.value)
    assert message.startswith("bandwidth_limit: ")
    assert fragment in message
    assert "\n" not in message

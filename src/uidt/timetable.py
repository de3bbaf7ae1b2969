"""The ``bandwidth_limit`` setting: one rate, or an rclone-style timetable of rates.

The forms are those of rclone's ``--bwlimit``:

- a single rate (:func:`uidt.rates.parse_rate`): ``2M``, ``off``;
- a daily timetable, entries ``HH:MM,RATE`` separated by spaces (or new lines):
  ``"08:00,2M 19:00,off"`` limits to 2 MiB/s from 08:00 and lifts the limit at 19:00, every day;
- weekly entries ``Www-HH:MM,RATE`` (``Mon`` … ``Sun``): ``"Mon-08:00,512K Sat-00:00,off"``
  limits from Monday 08:00 until Saturday midnight. Daily entries mixed with weekly ones stand
  for the same time on each of the seven days, as rclone reads them.

Each entry holds until the next one; before the week's first entry the week's last one still
holds (the timetable wraps around). Times are the daemon's local time. A mistake is reported
with its line, its entry and the field at fault, one clear sentence each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from uidt.errors import SettingsError
from uidt.rates import format_rate, parse_rate

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The longest text read (a week of entries every quarter hour fits many times over).
MAX_CHARS = 4096
_MINUTES_PER_WEEK = 7 * 24 * 60
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class Entry:
    """From ``minute`` of the week (Monday 00:00 is 0) on, transfers are limited to ``rate``."""

    minute: int
    rate: int | None


@dataclass(frozen=True, slots=True)
class BandwidthSchedule:
    """A limit that may change with the time of the week.

    Attributes:
        text: What was parsed (shown back by ``uidt cmd bandwidth-limit``).
        entries: The week's changes in order (one entry at minute 0 for a single rate).
    """

    text: str
    entries: tuple[Entry, ...]

    @property
    def is_timetable(self) -> bool:
        """Whether the limit changes with time (not a single rate)."""
        return "," in self.text

    def rate_at_any(self) -> int | None:
        """The rate of the week's first entry (for a single rate: the rate)."""
        return self.entries[0].rate if self.entries else None

    def rate_at(self, when: datetime) -> int | None:
        """The limit in bytes per second at local time ``when`` (``None``: no limit)."""
        if not self.entries:
            return None
        now = _minute_of_week(when)
        current = self.entries[-1]  # before the week's first entry, the last one still holds
        for entry in self.entries:
            if entry.minute > now:
                break
            current = entry
        return current.rate

    def next_change(self, when: datetime) -> datetime | None:
        """The first time after ``when`` at which an entry begins (``None``: a single rate)."""
        if not self.is_timetable:
            return None
        now = _minute_of_week(when)
        later = [e.minute for e in self.entries if e.minute > now]
        minute = later[0] if later else self.entries[0].minute + _MINUTES_PER_WEEK
        start_of_minute = when.replace(second=0, microsecond=0)
        return start_of_minute + timedelta(minutes=minute - now)

    def describe(self, when: datetime) -> str:
        """``2M`` or ``2M now (timetable "08:00,2M 19:00,off")``."""
        rate = format_rate(self.rate_at(when))
        return f'{rate} now (timetable "{self.text}")' if self.is_timetable else rate


def _minute_of_week(when: datetime) -> int:
    return when.weekday() * 24 * 60 + when.hour * 60 + when.minute


def parse_bandwidth_limit(text: str, what: str = "bandwidth_limit") -> BandwidthSchedule:
    """Read a single rate or a timetable (see the module's description).

    Raises:
        SettingsError: Naming the line, the entry and the field that is wrong.
    """
    if len(text) > MAX_CHARS:
        raise SettingsError(f"{what}: longer than {MAX_CHARS} characters")
    stripped = text.strip()
    if "," not in stripped and not any(c.isspace() for c in stripped):
        if stripped.count(":") == 1 and not _TIME.match(stripped):
            raise SettingsError(
                f"{what}: {text!r}: separate upload:download limits are not supported; "
                "give one rate for both"
            )
        return BandwidthSchedule(stripped, (Entry(0, parse_rate(stripped, what)),))
    lines = text.splitlines() or [""]
    weekly: dict[int, tuple[int | None, str]] = {}
    daily: list[tuple[int, int | None, str]] = []
    for line_no, line in enumerate(lines, 1):
        for entry_no, match in enumerate(re.finditer(r"\S+", line), 1):
            place = f"line {line_no}, entry {entry_no} ({match.group()!r})"
            day, minute, rate = _parse_entry(match.group(), f"{what}: {place}")
            if day is None:
                daily.append((minute, rate, place))
                continue
            _add(weekly, day * 24 * 60 + minute, rate, place, what)
    for minute, rate, place in daily:
        for day in range(7):
            _add(weekly, day * 24 * 60 + minute, rate, place, what)
    if not weekly:
        raise SettingsError(f"{what}: empty; give a rate (2M), off, or entries like 08:00,2M")
    entries = tuple(Entry(minute, rate) for minute, (rate, _) in sorted(weekly.items()))
    return BandwidthSchedule(" ".join(stripped.split()), entries)


def _add(
    weekly: dict[int, tuple[int | None, str]], key: int, rate: int | None, place: str, what: str
) -> None:
    if key in weekly:
        raise SettingsError(f"{what}: {place}: {weekly[key][1]} already starts at that time")
    weekly[key] = (rate, place)


def _parse_entry(token: str, where: str) -> tuple[int | None, int, int | None]:
    """``[Www-]HH:MM,RATE`` → (weekday or ``None``, minute of the day, rate)."""
    when, comma, rate_text = token.partition(",")
    if not comma:
        raise SettingsError(f"{where}: an entry is TIME,RATE (08:00,2M or Mon-08:00,2M)")
    day: int | None = None
    day_text, dash, time_text = when.rpartition("-")
    if dash:
        if day_text.lower() not in WEEKDAYS:
            raise SettingsError(
                f"{where}: the day {day_text!r} is not one of Mon, Tue, Wed, Thu, Fri, Sat, Sun"
            )
        day = WEEKDAYS.index(day_text.lower())
    match = _TIME.match(time_text)
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise SettingsError(f"{where}: the time {time_text!r} is not HH:MM between 00:00 and 23:59")
    if not rate_text:
        raise SettingsError(f"{where}: the rate is missing after the comma (2M, 512K or off)")
    rate = parse_rate(rate_text, f"{where}: the rate")
    return day, int(match.group(1)) * 60 + int(match.group(2)), rate

"""Durations, sizes and rates as scenarios write them."""

from __future__ import annotations

import pytest

from uidt.sim.quantities import duration_ms, rate_bytes_per_s, size_bytes, span_text


@pytest.mark.parametrize(
    ("text", "ms"),
    [("90s", 90_000), ("1h30m", 5_400_000), ("1d", 86_400_000), ("250ms", 250), (2, 2000)],
)
def test_durations(text: object, ms: int) -> None:
    assert duration_ms(text) == ms


@pytest.mark.parametrize("bad", ["", "10", "5 minutes", "1h-5m", -1, True, None, "m5"])
def test_a_bad_duration_says_what_it_expected(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        duration_ms(bad)


def test_sizes_and_rates() -> None:
    assert size_bytes("800MB") == 800_000_000
    assert size_bytes("1.5GiB") == 1_610_612_736
    assert size_bytes(12) == 12
    assert rate_bytes_per_s("2MB/s") == 2_000_000
    assert rate_bytes_per_s(500) == 500


@pytest.mark.parametrize("bad", ["2MB", "0MB/s", "fast/s", -5, 0])
def test_a_bad_rate_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="rate"):
        rate_bytes_per_s(bad)


def test_spans_read_at_a_glance() -> None:
    assert span_text(3_900_000) == "1h05m"
    assert span_text(2_100_000) == "35m00s"
    assert span_text(12_000) == "12s"

"""The notification routes' own checks (the routes themselves run in the e2e tests)."""

from __future__ import annotations

from typing import Any

import pytest

from uidt.daemon.notificationapi import notification_id
from uidt.errors import InvalidJobError


@pytest.mark.parametrize(("raw", "value"), [(7, 7), ("7", 7), ("-3", -3), (2**31 - 1, 2**31 - 1)])
def test_a_notification_id_is_a_32_bit_integer(raw: Any, value: int) -> None:
    assert notification_id(raw) == value


@pytest.mark.parametrize("raw", [True, None, 1.5, "x", "", 2**31, -(2**31) - 1, [1]])
def test_anything_else_is_one_clear_error(raw: Any) -> None:
    with pytest.raises(InvalidJobError, match="notification id"):
        notification_id(raw)

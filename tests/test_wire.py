from __future__ import annotations

import pytest

from uidt import errors
from uidt.wire import error_from_wire, error_to_wire


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.InvalidJobError("bad job"), 400),
        (errors.JobPermissionError("no permission"), 403),
        (errors.JobLimitError("Apps may not schedule more than 150 distinct jobs"), 409),
    ],
)
def test_errors_cross_the_wire_as_the_same_kind(exc: errors.UidtError, status: int) -> None:
    body, got_status = error_to_wire(exc)
    assert got_status == status
    again = error_from_wire(body, got_status)
    assert type(again) is type(exc)
    assert str(again) == str(exc)


def test_unknown_errors_become_daemon_errors() -> None:
    assert isinstance(error_from_wire({"nonsense": 1}, 502), errors.DaemonError)
    body, status = error_to_wire(RuntimeError("boom"))
    assert status == 500
    assert body["error"]["type"] == "internal"

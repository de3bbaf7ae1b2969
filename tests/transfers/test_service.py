"""The download job's lowest-speed rule, from the command line's options to the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from uidt.errors import TransferError
from uidt.transfers.jobs import download_job
from uidt.transfers.service import speed_rule
from uidt.transfers.speedfloor import LOWEST_SPEED, LOWEST_SPEED_SECONDS


def test_the_engine_defaults_apply_unless_given(tmp_path: Path) -> None:
    plain = download_job("http://127.0.0.1/f", tmp_path / "f")
    assert "lowest_speed" not in plain.extras
    assert speed_rule(plain.extras) == (LOWEST_SPEED, LOWEST_SPEED_SECONDS)
    given = download_job(
        "http://127.0.0.1/f", tmp_path / "f", lowest_speed=0, lowest_speed_seconds=5
    )
    assert speed_rule(given.extras) == (0, 5.0)


@pytest.mark.parametrize(
    "extras",
    [
        {"lowest_speed": "fast"},
        {"lowest_speed": True},
        {"lowest_speed": 1.5},
        {"lowest_speed_seconds": "soon"},
        {"lowest_speed_seconds": None},
    ],
)
def test_garbage_in_the_job_is_a_clear_transfer_error(extras: dict[str, Any]) -> None:
    with pytest.raises(TransferError, match="bad lowest-speed rule"):
        speed_rule(extras)

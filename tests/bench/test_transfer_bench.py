"""The transfer benchmark's engine variants do what their rows say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.transfer_bench import ENGINE_SYNC_EVERY_CHECKPOINT, NO_BOOT_ID


def test_the_sync_every_checkpoint_row_runs_the_engine_without_a_boot_id(tmp_path: Path) -> None:
    assert ENGINE_SYNC_EVERY_CHECKPOINT.startswith("import asyncio, sys; " + NO_BOOT_ID)
    check = (
        NO_BOOT_ID + "from pathlib import Path; from uidt.clock import SystemClock; "
        "from uidt.transfers.partfile import PartFile; "
        "part = PartFile(Path(sys.argv[1]), 'http://127.0.0.1:1/f', hashing=False, "
        "clock=SystemClock()); print(part.ledger.boot_id)"
    )
    done = subprocess.run(
        [sys.executable, "-c", "import sys; " + check, str(tmp_path / "f")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == "None"

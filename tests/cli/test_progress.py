"""The ``--wait`` progress bar and the background import of rich."""

from __future__ import annotations

import subprocess
import sys

import pytest

from uidt.cli.progress import ProgressBar, transferred


def test_transferred_sums_both_directions_and_known_estimates() -> None:
    job = {
        "transferred_download_bytes": 10,
        "transferred_upload_bytes": 5,
        "estimated_download_bytes": 100,
        "estimated_upload_bytes": -1,
    }
    assert transferred(job) == (15, 100)
    job["estimated_download_bytes"] = -1
    assert transferred(job) == (15, None)


def test_the_bar_shows_a_job_and_leaves_its_last_state(capsys: pytest.CaptureFixture[str]) -> None:
    bar = ProgressBar(7)
    bar.show(
        {
            "state": "active",
            "transferred_download_bytes": 512,
            "transferred_upload_bytes": 0,
            "estimated_download_bytes": 1024,
            "notification": {"text": "half way"},
        }
    )
    bar.close()
    out = capsys.readouterr().out
    assert "job 7" in out
    assert "half way" in out


def test_prefetch_imports_rich_in_the_background() -> None:
    code = (
        "import sys\n"
        "from uidt.cli import progress\n"
        "assert 'rich.progress' not in sys.modules\n"
        "progress.prefetch().join(60)\n"
        "assert 'rich.progress' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)

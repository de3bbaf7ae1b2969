"""``from uidt.transfers import download, upload`` gives the functions, not their modules."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "first",
    [
        "pass",
        "import uidt.transfers.upload, uidt.transfers.download",  # the modules were loaded before
        "from uidt.transfers.service import HttpUploadService",
    ],
)
def test_the_engine_functions_shadow_their_modules(first: str) -> None:
    code = (
        f"{first}\n"
        "import inspect, sys\n"
        "from uidt.transfers import download, upload\n"
        "import uidt.transfers as t\n"
        "assert inspect.iscoroutinefunction(download), download\n"
        "assert inspect.iscoroutinefunction(upload), upload\n"
        "assert t.upload is upload and t.download is download\n"
        "assert sys.modules['uidt.transfers.upload'].upload is upload\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)

"""The PNG through matplotlib (an optional extra): drawn when installed, one clear error when not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from uidt.errors import RenderError
from uidt.timeline import Band, JobRow, Lane, Mark, MarkKind, Style, Timeline, write_timeline

TIMELINE = Timeline(
    "png",
    0,
    3_600_000,
    (
        JobRow(
            Lane(
                "org.example.a/1",
                (Band(0, 600_000, Style.RUNNING, "running"),),
                (Mark(600_000, MarkKind.CRASHED, "the app crashed", "process killed"),),
            )
        ),
    ),
    (Lane("network", (Band(0, 3_600_000, Style.GOOD, "Wi-Fi"),)),),
)


def test_without_matplotlib_a_png_is_one_clear_error_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError
    with pytest.raises(RenderError, match=r"needs matplotlib.*pip install 'uidt\[plot\]'"):
        write_timeline(TIMELINE, tmp_path / "t.png")
    assert list(tmp_path.iterdir()) == []


def test_with_matplotlib_a_png_is_written(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib (the plot extra) is not installed")
    target = tmp_path / "t.png"
    write_timeline(TIMELINE, target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.png"]

"""``uidt sim``: text, JSON and a picture from a scenario, without a daemon; bad input is one
clear line naming where."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from uidt.cli.main import cli, main

SCENARIO = """\
[scenario]
name = "tiny"
duration = "1h"
[[app]]
name = "org.example.a"
[[job]]
app = "org.example.a"
id = 1
network = "unmetered"
download = "6MB"
[job.behaviour]
throughput = "10KB/s"
[[event]]
at = "5m"
metered = true
"""


def _write(tmp_path: Path, text: str = SCENARIO) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def test_text_output_names_outcome_stops_and_waits(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sim", str(_write(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "job org.example.a/1 (user-initiated, needs an unmetered network)" in result.output
    assert "still waiting when the scenario ended at 01:00:00" in result.output
    assert "00:05:00  the network was lost or no longer suited the job" in result.output
    assert "55m00s  waiting for a suitable network [CONSTRAINT_CONNECTIVITY]" in result.output


def test_json_output_with_either_flag(tmp_path: Path) -> None:
    path = str(_write(tmp_path))
    local = CliRunner().invoke(cli, ["sim", path, "--json"])
    group = CliRunner().invoke(cli, ["--json", "sim", path])
    assert local.exit_code == group.exit_code == 0
    data = json.loads(local.output)
    assert json.loads(group.output) == data
    assert data["jobs"][0]["stops"][0]["reason"] == "CONSTRAINT_CONNECTIVITY"
    assert data["jobs"][0]["waiting_ms"] == {"CONSTRAINT_CONNECTIVITY": 3_300_000}


def test_plot_writes_an_svg_beside_the_text(tmp_path: Path) -> None:
    svg = tmp_path / "out.svg"
    result = CliRunner().invoke(cli, ["sim", str(_write(tmp_path)), "--plot", str(svg)])
    assert result.exit_code == 0, result.output
    ET.parse(svg)


def _fail(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``uidt ARGS`` as the program does (its error handling included): stderr."""
    monkeypatch.setattr(sys, "argv", ["uidt", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def test_a_bad_scenario_is_one_line_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, SCENARIO.replace("metered = true", "meterd = true"))
    assert _fail(monkeypatch, capsys, "sim", str(path)) == (
        f"uidt: {path}:15: unknown key 'meterd' in [[event]] (known: at, battery, cancel, "
        "charging, memory, metered, network, power_saver, roaming, storage_low, thermal, "
        "user_stop)\n"
    )


def test_an_unknown_picture_type_fails_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = str(tmp_path / "x.bmp")
    error = _fail(monkeypatch, capsys, "sim", str(_write(tmp_path)), "--plot", plot)
    assert error == "uidt: cannot draw a timeline as .bmp: use .svg or .png\n"

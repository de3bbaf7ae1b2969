"""The timeline's SVG: valid XML, a legend, reasons in words, the stops numbered and listed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from uidt.errors import RenderError
from uidt.timeline import (
    Band,
    Curve,
    JobRow,
    Lane,
    Mark,
    MarkKind,
    Style,
    Timeline,
    render_svg,
    write_timeline,
)

SVG = "{http://www.w3.org/2000/svg}"


def _timeline(origin: datetime | None = None) -> Timeline:
    job = Lane(
        "org.example.a/1",
        (
            Band(0, 600_000, Style.RUNNING, "running"),
            Band(600_000, 1_800_000, Style.WAIT_NETWORK, "waiting for a suitable network"),
            Band(1_800_000, 3_600_000, Style.FINISHED, "finished"),
        ),
        (Mark(600_000, MarkKind.STOPPED, "the network was lost", "CONSTRAINT_CONNECTIVITY"),),
    )
    network = Lane("network", (Band(0, 3_600_000, Style.LIMITED, "Wi-Fi, metered <&>"),))
    return Timeline(
        title="a <test> & its title",
        start_ms=0,
        end_ms=3_600_000,
        jobs=(JobRow(job, Curve(((0, 0), (600_000, 50), (1_800_000, 100)), 100)),),
        readings=(network,),
        origin=origin,
    )


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode())
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def test_the_svg_parses_and_says_everything_in_words() -> None:
    texts = _texts(render_svg(_timeline()))
    joined = "\n".join(texts)
    assert "a <test> & its title" in texts  # escaped in the document, intact when read
    assert "Legend" in texts
    assert "waiting for a network" in joined  # the legend entry of the style
    assert "▼ the scheduler stopped the job" in joined
    assert "line: bytes done so far" in joined
    assert any(
        "00:10:00" in t and "the network was lost" in t and "CONSTRAINT_CONNECTIVITY" in t
        for t in texts
    )
    assert "times: simulated, from the scenario's start (hours:minutes)" in texts


def test_every_band_has_a_tooltip_with_its_times_and_words() -> None:
    root = ET.fromstring(render_svg(_timeline()).encode())
    tips = ["".join(t.itertext()) for t in root.iter(f"{SVG}title")]
    assert "00:10:00 to 00:30:00: waiting for a suitable network" in tips


def test_real_jobs_read_in_local_time() -> None:
    origin = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    timeline = _timeline(origin)
    local = origin.astimezone().strftime("%H:%M")
    texts = _texts(render_svg(timeline))
    assert local in texts  # the first tick
    assert any(t.startswith("times: local time") for t in texts)


def test_no_stops_says_so() -> None:
    timeline = _timeline()
    quiet = Timeline("quiet", 0, 60_000, (JobRow(Lane("job", ())),))
    assert "No stops: no job was stopped, killed or crashed." in _texts(render_svg(quiet))
    assert timeline.marks()[0][1] == "org.example.a/1"


def test_write_timeline_writes_svg_whole_and_refuses_other_suffixes(tmp_path: Path) -> None:
    target = tmp_path / "t.svg"
    write_timeline(_timeline(), target)
    ET.parse(target)
    assert [p.name for p in tmp_path.iterdir()] == ["t.svg"]  # no partial file left beside it
    with pytest.raises(RenderError, match=r"cannot draw a timeline as \.gif"):
        write_timeline(_timeline(), tmp_path / "t.gif")
    assert not (tmp_path / "t.gif").exists()


def test_a_short_timeline_has_ticks_with_seconds() -> None:
    short = Timeline(
        "short", 0, 40_000, (JobRow(Lane("job", (Band(0, 40_000, Style.RUNNING, "running"),))),)
    )
    texts = _texts(render_svg(short))
    assert {"00:00:00", "00:00:10", "00:00:20", "00:00:30", "00:00:40"} <= set(texts)


def test_a_link_planted_at_the_target_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = tmp_path / "t.svg"
    target.symlink_to(victim)
    write_timeline(_timeline(), target)
    assert victim.read_text() == "keep me"
    assert not target.is_symlink()
    ET.parse(target)


def test_a_link_planted_at_any_temporary_name_is_not_followed(tmp_path: Path) -> None:
    import os

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    # whatever name the partial picture might take in this folder, none is a link
    for name in (f".t.svg.{os.getpid()}.partial.svg", ".t.svg.partial", "t.svg.partial"):
        (tmp_path / name).symlink_to(victim)
    write_timeline(_timeline(), tmp_path / "t.svg")
    assert victim.read_text() == "keep me"


def test_the_picture_gets_the_mode_the_umask_gives(tmp_path: Path) -> None:
    import os

    old = os.umask(0o027)
    try:
        write_timeline(_timeline(), tmp_path / "t.svg")
    finally:
        os.umask(old)
    assert (tmp_path / "t.svg").stat().st_mode & 0o777 == 0o640

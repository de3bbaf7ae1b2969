"""The scenarios shipped in ``examples/``: their text and JSON results are pinned (golden files),
and each one's timeline is a valid SVG that names every stop reason that occurred.

After a deliberate change of the core or the report, write the golden files again with
``UIDT_TEST_WRITE_GOLDEN=1 pytest tests/sim/test_examples.py`` and read the diff.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from uidt.sim import load_scenario, simulate
from uidt.sim.picture import timeline_of
from uidt.sim.report import to_json, to_text
from uidt.timeline import render_svg

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"
SCENARIOS = sorted(EXAMPLES.glob("*.toml"))
WRITE = os.environ.get("UIDT_TEST_WRITE_GOLDEN") == "1"


def _compare(path: Path, produced: str) -> None:
    if WRITE:
        path.write_text(produced, encoding="utf-8")
    assert produced == path.read_text(encoding="utf-8")


def test_the_three_promised_scenarios_are_shipped() -> None:
    assert [p.stem for p in SCENARIOS] == ["commute", "crash-looping-app", "overheating-laptop"]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_text_and_json_match_the_golden_files(scenario: Path) -> None:
    result = simulate(load_scenario(scenario))
    _compare(GOLDEN / f"{scenario.stem}.txt", to_text(result))
    _compare(GOLDEN / f"{scenario.stem}.json", json.dumps(to_json(result), indent=2) + "\n")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_the_timeline_parses_and_names_every_stop_reason(scenario: Path) -> None:
    result = simulate(load_scenario(scenario))
    root = ET.fromstring(render_svg(timeline_of(result)).encode())
    texts = "\n".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    stops = [stop for job in result.jobs for stop in job.stops]
    assert stops, "each example shows at least one stop"
    for stop in stops:
        assert stop.words in texts
    for job in result.jobs:
        assert job.spec.name in texts


def test_each_example_shows_what_it_promises() -> None:
    """The commute stops for the network, the laptop for heat, the crashing app crashes."""
    reasons = {}
    for scenario in SCENARIOS:
        result = simulate(load_scenario(scenario))
        reasons[scenario.stem] = {s.words for job in result.jobs for s in job.stops}
    assert "the network was lost or no longer suited the job" in reasons["commute"]
    assert "the device was too hot" in reasons["overheating-laptop"]
    assert "the app crashed" in reasons["crash-looping-app"]


def test_the_readme_shows_what_uidt_sim_prints_for_the_commute() -> None:
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("$ uidt sim examples/commute.toml --plot commute.svg\n", 1)[1]
    shown = block.split("```", 1)[0]
    assert shown in to_text(simulate(load_scenario(EXAMPLES / "commute.toml")))

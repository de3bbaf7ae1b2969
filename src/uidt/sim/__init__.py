"""``uidt sim``: try a bad day before it happens.

A scenario (TOML: the device, apps, jobs with their behaviour, device events at given times) runs
through the real scheduler core on a virtual clock; the result says per job when it finished,
why it stopped and how long it waited for what, and draws the same timeline as for real jobs
(:mod:`uidt.timeline`). The format is in ``docs/simulation.md``.
"""

from __future__ import annotations

from uidt.sim.engine import simulate
from uidt.sim.load import load_scenario, parse_scenario
from uidt.sim.scenario import Scenario
from uidt.sim.trace import SimResult

__all__ = ["Scenario", "SimResult", "load_scenario", "parse_scenario", "simulate"]

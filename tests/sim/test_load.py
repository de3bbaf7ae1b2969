"""Reading a scenario: every mistake is one ScenarioError that names its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from uidt.errors import ScenarioError
from uidt.job.network import NetworkType
from uidt.sim import load_scenario, parse_scenario
from uidt.sim.scenario import Constraint, NetworkKind, StopAnswer

GOOD = """\
[scenario]
name = "good"
duration = "2h"

[device]
network = "cellular"
metered = true

[[app]]
name = "org.example.a"

[[job]]
app = "org.example.a"
id = 1
network = "unmetered"
constraints = ["charging"]
download = "10MB"
[job.behaviour]
throughput = "1MB/s"
on_stop = "drop"

[[event]]
at = "10m"
network = "wifi"
metered = false

[[event]]
at = "20m"
user_stop = "org.example.a"
"""


def _error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source="bad.toml")
    return caught.value


def test_a_good_scenario_reads_into_values() -> None:
    scenario = parse_scenario(GOOD)
    assert scenario.duration_ms == 7_200_000
    assert scenario.device.network is NetworkKind.CELLULAR
    assert scenario.device.metered
    (job,) = scenario.jobs
    assert job.network is NetworkType.UNMETERED
    assert job.constraints == frozenset({Constraint.CHARGING})
    assert job.behaviour.on_stop is StopAnswer.DROP
    assert [e.at_ms for e in scenario.events] == [600_000, 1_200_000]
    assert scenario.events[1].user_stop == "org.example.a"


def test_an_unknown_key_names_its_line_and_the_known_keys() -> None:
    error = _error(GOOD.replace('on_stop = "drop"', 'on_stopp = "drop"'))
    assert error.line == 20
    assert str(error).startswith("bad.toml:20: unknown key 'on_stopp' in [job.behaviour]")
    assert "on_stop" in str(error)


def test_an_unknown_top_level_table_is_refused_with_its_line() -> None:
    error = _error(GOOD + "\n[weather]\nsunny = true\n")
    assert error.line == 31
    assert "unknown key 'weather'" in str(error)


def test_a_time_going_backwards_names_the_later_line() -> None:
    error = _error(GOOD.replace('at = "20m"', 'at = "5m"'))
    assert error.line == 28
    assert "time goes backwards" in str(error)


def test_an_unknown_app_of_a_job_is_named_with_its_line() -> None:
    error = _error(GOOD.replace('app = "org.example.a"', 'app = "org.example.b"'))
    assert error.line == 13
    assert "unknown app 'org.example.b'" in str(error)


def test_an_unknown_app_of_a_user_stop_is_named_with_its_line() -> None:
    error = _error(GOOD.replace('user_stop = "org.example.a"', 'user_stop = "org.nope"'))
    assert error.line == 29
    assert "unknown app 'org.nope'" in str(error)


def test_an_unknown_job_to_cancel_is_named_with_its_line() -> None:
    error = _error(GOOD + '\n[[event]]\nat = "30m"\ncancel = "org.example.a/2"\n')
    assert error.line == 33
    assert "unknown job 'org.example.a/2'" in str(error)


def test_an_unknown_constraint_names_the_known_ones() -> None:
    error = _error(GOOD.replace('["charging"]', '["charging", "wifi"]'))
    assert error.line == 16
    assert "unknown constraint 'wifi'" in str(error)
    assert "battery_not_low" in str(error)


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ('duration = "2h"', 'duration = "2 hours"', 3, "duration"),
        ("metered = true", 'metered = "yes"', 7, "true or false"),
        ('throughput = "1MB/s"', 'throughput = "fast"', 19, "rate"),
        ("id = 1", 'id = "one"', 14, "whole number"),
        ('network = "unmetered"', 'network = "wifi"', 15, "unmetered"),
        ('at = "10m"', 'at = "3h"', 23, "after the scenario ends"),
    ],
)
def test_a_bad_value_names_its_line(old: str, new: str, line: int, words: str) -> None:
    error = _error(GOOD.replace(old, new, 1))
    assert error.line == line
    assert words in str(error)


def test_a_job_listed_twice_is_refused() -> None:
    twice = GOOD.replace("[[event]]", '[[job]]\napp = "org.example.a"\nid = 1\n\n[[event]]', 1)
    error = _error(twice)
    assert error.line == 24
    assert "listed twice" in str(error)


def test_an_event_that_changes_nothing_is_refused() -> None:
    error = _error(GOOD + '\n[[event]]\nat = "1h"\n')
    assert error.line == 31
    assert "changes nothing" in str(error)


def test_broken_toml_says_where() -> None:
    error = _error('[scenario]\nname = "x\n')
    assert "not valid TOML" in str(error)
    assert "line 2" in str(error)


def test_an_unreadable_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the scenario"):
        load_scenario(tmp_path / "missing.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ScenarioError, match="cannot read the scenario"):
        load_scenario(binary)


def test_a_job_the_scheduler_would_refuse_to_build_is_named_with_its_line() -> None:
    """A user-initiated job must need a network (Android's JobInfo.Builder.build() rule)."""
    error = _error(GOOD.replace('network = "unmetered"', 'network = "none"'))
    assert error.line == 12
    assert "job org.example.a/1 is not valid" in str(error)
    assert "network" in str(error)

"""``uidt sim``'s engine: the real core on a virtual clock, with apps that move bytes, answer
stops, crash and die as their behaviour says."""

from __future__ import annotations

from pathlib import Path

from uidt.job.reasons import InternalStopReason, PendingReason, StopReason
from uidt.server.invariants import broken_invariants
from uidt.sim import load_scenario, parse_scenario
from uidt.sim.engine import Simulation
from uidt.sim.report import to_json
from uidt.sim.trace import JobTrace, Phase, SimResult, StopKind

HEAD = """\
[scenario]
duration = "2h"
[[app]]
name = "org.example.a"
"""


def _run(body: str, seed: int | None = None) -> SimResult:
    """Simulate; afterwards the core's cross-part invariants must still hold."""
    simulation = Simulation(parse_scenario(HEAD + body), seed)
    result = simulation.run()
    assert broken_invariants(simulation.core) == []
    return result


def _job(result: SimResult, index: int = 0) -> JobTrace:
    return result.jobs[index]


JOB = """
[[job]]
app = "org.example.a"
id = 1
network = "unmetered"
download = "60MB"
[job.behaviour]
throughput = "100KB/s"
"""


def test_a_job_finishes_when_its_bytes_are_done_at_its_throughput() -> None:
    job = _job(_run(JOB))  # 60 MB at 100 kB/s: 600 s
    assert job.ended == (Phase.FINISHED, 600_000)
    assert job.bytes_done == 60_000_000
    assert job.stops == []
    assert job.runs == 1


def test_a_metered_network_stops_the_job_and_it_resumes_where_it_was() -> None:
    result = _run(
        JOB
        + """
[[event]]
at = "5m"
metered = true
[[event]]
at = "15m"
metered = false
"""
    )
    job = _job(result)
    (stop,) = job.stops
    assert (stop.at_ms, stop.kind, stop.reason, stop.internal) == (
        300_000,
        StopKind.STOPPED,
        StopReason.CONSTRAINT_CONNECTIVITY,
        InternalStopReason.CONSTRAINTS_NOT_SATISFIED,
    )
    assert job.waiting_ms() == {PendingReason.CONSTRAINT_CONNECTIVITY: 600_000}
    # 300 s done before the stop, the other 300 s after the network came back at 900 s
    assert job.ended == (Phase.FINISHED, 1_200_000)
    assert job.progress == [
        (0, 0),
        (300_000, 30_000_000),
        (900_000, 30_000_000),
        (1_200_000, 60_000_000),
    ]


def test_an_app_that_drops_its_job_on_stop_does_not_read_finished() -> None:
    """A status never lies: the core ends such a job (state "finished", Android's drop), but
    its bytes are not all done, so the simulation says it was dropped unfinished."""
    result = _run(
        JOB.replace('throughput = "100KB/s"', 'throughput = "100KB/s"\non_stop = "drop"')
        + '\n[[event]]\nat = "5m"\nnetwork = "none"\n'
    )
    job = _job(result)
    assert job.outcome is Phase.DROPPED
    assert job.ended == (Phase.DROPPED, 300_000)
    assert job.bytes_done == 30_000_000
    assert to_json(result)["jobs"][0]["outcome"] == "dropped"


def test_the_users_stop_while_running_drops_a_user_initiated_job() -> None:
    result = _run(JOB + '\n[[event]]\nat = "5m"\nuser_stop = "org.example.a"\n')
    job = _job(result)
    assert job.ended == (Phase.USER_STOPPED, 300_000)
    (stop,) = job.stops
    assert (stop.kind, stop.reason, stop.internal) == (
        StopKind.KILLED,
        StopReason.USER,
        InternalStopReason.USER_UI_STOP,
    )
    assert stop.words == "stopped by the user (Task Manager)"


def test_the_users_stop_while_waiting_holds_the_job_back_but_does_not_end_it() -> None:
    """The core notes "user-stopped" in a waiting job's history without ending it: the
    simulation must not take that note for the terminal state."""
    result = _run(
        JOB
        + """
[[event]]
at = "5m"
metered = true
[[event]]
at = "10m"
user_stop = "org.example.a"
[[event]]
at = "20m"
metered = false
"""
    )
    job = _job(result)
    assert job.ended is None
    assert job.outcome is Phase.WAITING
    assert PendingReason.USER in job.spans[-1].reasons


def test_a_crashing_run_is_killed_and_the_job_comes_back_after_a_backoff() -> None:
    result = _run(
        JOB.replace('throughput = "100KB/s"', 'throughput = "100KB/s"\ncrash_after = "2m"')
    )
    job = _job(result)
    assert [s.kind for s in job.stops[:2]] == [StopKind.CRASHED, StopKind.CRASHED]
    assert job.stops[0].at_ms == 120_000
    assert job.stops[0].words == "the app crashed"
    assert PendingReason.CONSTRAINT_MINIMUM_LATENCY in job.waiting_ms()
    # it resumes where it was, so two-minute runs get the job done in the end
    assert job.ended is not None
    assert job.ended[0] is Phase.FINISHED
    assert job.bytes_done == 60_000_000


def test_a_crash_kills_the_other_runs_of_the_same_app_too() -> None:
    two = JOB.replace('throughput = "100KB/s"', 'throughput = "100KB/s"\ncrash_after = "2m"')
    two += JOB.replace("id = 1", "id = 2")
    result = _run(two)
    other = _job(result, 1)
    assert other.stops[0].at_ms == 120_000
    assert other.stops[0].kind is StopKind.KILLED
    assert other.stops[0].words == "the app's process died"


def test_an_app_that_never_answers_on_stop_is_killed_and_its_job_rescheduled() -> None:
    result = _run(
        JOB.replace('throughput = "100KB/s"', 'throughput = "100KB/s"\non_stop = "ignore"')
        + '\n[[event]]\nat = "5m"\nmetered = true\n[[event]]\nat = "30m"\nmetered = false\n'
    )
    job = _job(result)
    assert [s.kind for s in job.stops] == [StopKind.STOPPED]  # one stop, not a second for the kill
    assert job.ended is not None
    assert job.ended[0] is Phase.FINISHED


def test_constraints_of_the_device_are_waited_for_with_their_reasons() -> None:
    result = _run(
        """
[device]
charging = false
battery = 50
storage_low = true
[[job]]
app = "org.example.a"
id = 1
constraints = ["charging", "storage_not_low"]
download = "1MB"
[[event]]
at = "10m"
charging = true
[[event]]
at = "25m"
storage_low = false
"""
    )
    job = _job(result)
    waited = job.waiting_ms()
    assert waited[PendingReason.CONSTRAINT_CHARGING] == 600_000
    assert waited[PendingReason.CONSTRAINT_STORAGE_NOT_LOW] == 1_500_000
    assert job.ended == (Phase.FINISHED, 1_501_000)


def test_a_job_scheduled_later_has_no_state_before_it() -> None:
    job = _job(_run(JOB.replace("id = 1", 'id = 1\nat = "30m"')))
    assert job.spans[0].phase is Phase.NOT_SCHEDULED
    assert job.spans[0].end_ms == 1_800_000
    assert job.ended == (Phase.FINISHED, 2_400_000)


def test_the_same_scenario_and_seed_give_the_same_result() -> None:
    chancy = JOB.replace(
        'throughput = "100KB/s"', 'throughput = "100KB/s"\ncrash_probability = 0.5'
    )
    first = to_json(_run(chancy, seed=3))
    assert to_json(_run(chancy, seed=3)) == first
    others = [to_json(_run(chancy, seed=seed)) for seed in range(4, 12)]
    assert any(other["jobs"] != first["jobs"] for other in others)  # the seed is used


def test_a_job_still_running_at_the_end_says_so() -> None:
    job = _job(_run(JOB.replace('download = "60MB"', 'download = "60GB"')))
    assert job.ended is None
    assert job.outcome is Phase.RUNNING


def test_the_core_keeps_its_invariants_through_every_example() -> None:
    """The simulator drives the core in orders the daemon also may (a crash, then the process
    death; a kill while a stop is unanswered): the core's cross-part invariants still hold."""
    examples = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.toml"))
    for path in examples:
        simulation = Simulation(load_scenario(path))
        simulation.run()
        assert broken_invariants(simulation.core) == [], path.name

"""``uidt sim``: how long a simulated day takes.

Rows (median of ``UIDT_BENCH_RUNS`` runs, default 5; wall and CPU milliseconds):

* *a bad day, ten jobs*: 24 simulated hours, ten jobs of four apps (user-initiated and regular,
  network, battery and charging constraints, one app crashing every 3 minutes of a run, one
  run crashing by chance), the device changing every 20 minutes (Wi-Fi, metered tethering, no
  network, battery running down and charging, heat, memory pressure), a user Stop at noon.
  The issue's target: well under a second.
* the same day with 100 jobs (ten times the apps), to see how it grows;
* each scenario shipped in ``examples/``;
* reading the day's TOML (``load``), and drawing its SVG.

Run: ``python -m bench sim_bench``.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from uidt.sim import parse_scenario, simulate
from uidt.sim.picture import timeline_of
from uidt.timeline import render_svg

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RUNS = int(os.environ.get("UIDT_BENCH_RUNS", "5"))

_DEVICE_CYCLE = [
    'network = "wifi"\nmetered = false',
    'network = "wifi"\nmetered = true\nbattery = 70\ncharging = false',
    'network = "none"\nbattery = 45',
    'network = "cellular"\nmetered = true\nthermal = "moderate"',
    'thermal = "severe"\nmemory = "moderate"\nbattery = 18',
    'thermal = "none"\nmemory = "normal"\ncharging = true\nnetwork = "ethernet"\nmetered = false',
]


def bad_day(apps_per_kind: int = 1) -> str:
    """A generated 24 h scenario: ten jobs per ``apps_per_kind``."""
    parts = ['[scenario]\nname = "a bad day"\nduration = "1d"\nseed = 5\n']
    jobs: list[str] = []
    for n in range(apps_per_kind):
        names = [f"org.bench.a{n}", f"org.bench.b{n}", f"org.bench.c{n}", f"org.bench.crashy{n}"]
        parts += [f'[[app]]\nname = "{name}"\n' for name in names]
        for i in range(10):
            app = names[i % 4]
            network = ["unmetered", "any", "not_roaming"][i % 3]
            constraints = ['["battery_not_low"]', '["charging"]', "[]"][i % 3]
            behaviour = 'throughput = "2MB/s"'
            if app.startswith("org.bench.crashy"):
                behaviour += '\ncrash_after = "3m"'
            if i == 5:
                behaviour += "\ncrash_probability = 0.3"
            jobs.append(
                f'[[job]]\napp = "{app}"\nid = {i}\nat = "{i * 7}m"\n'
                f"user_initiated = {'true' if i % 4 else 'false'}\n"
                f'network = "{network}"\nconstraints = {constraints}\n'
                f'download = "{(i + 1) * 700}MB"\n[job.behaviour]\n{behaviour}\n'
            )
    parts += jobs
    for k in range(72):  # every 20 minutes
        at = k * 20 + 5
        parts.append(f'[[event]]\nat = "{at}m"\n{_DEVICE_CYCLE[k % len(_DEVICE_CYCLE)]}\n')
        if at == 725:
            parts.append('user_stop = "org.bench.c0"\n')
    return "\n".join(parts)


def _measure(work: Callable[[], object]) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(RUNS):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    day = bad_day()
    scenario = parse_scenario(day)
    big = parse_scenario(bad_day(10))
    result = simulate(scenario)
    stops = sum(len(job.stops) for job in result.jobs)
    rows: list[tuple[str, Callable[[], object]]] = [
        (f"a bad day, ten jobs (24 h, {stops} stops)", lambda: simulate(scenario)),
        ("the same day, 100 jobs", lambda: simulate(big)),
    ]
    for path in sorted(EXAMPLES.glob("*.toml")):
        example = parse_scenario(path.read_text(), source=path.name)
        rows.append((f"examples/{path.name}", lambda s=example: simulate(s)))  # type: ignore[misc]
    rows.append(("reading the day's TOML", lambda: parse_scenario(day)))
    rows.append(("drawing the day's SVG", lambda: render_svg(timeline_of(result))))
    print(f"| row (median of {RUNS}) | wall ms | CPU ms |")
    print("|---|---|---|")
    for name, work in rows:
        wall, cpu = _measure(work)
        print(f"| {name} | {wall:.1f} | {cpu:.1f} |")


if __name__ == "__main__":
    main()

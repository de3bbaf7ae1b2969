"""Scheduler core: the cost of one check pass over 10,000 (and 100,000) jobs.

Figures (median of repeated runs, milliseconds of wall time and of the process's CPU time):

* *one constraint changes, queue empty*: 10,000 jobs all waiting for charging; one job's
  constraints are updated (``update_constraints``) and the check pass that follows starts it.
  Target: under 20 ms.
* *one constraint changes, 10,000 queued*: every job is ready but the slots are full, so the
  pass also orders the whole pending queue.
* *device change that concerns no job*: low storage comes and goes; no job requires storage, so
  no job is re-evaluated (the controllers know which jobs depend on their reading). Target:
  under 5 ms.
* *device change that concerns every job*: the network's bandwidth changes; all 10,000 jobs
  require a network and are re-evaluated (they stay ready). Target: under 20 ms.
* *charging flips*: all 10,000 jobs require charging: each flip takes every job off the queue or
  puts it back (new pending reasons, new history entries).
* *the same, every job estimating 100 MiB*: the bandwidth change again, over jobs whose byte
  estimate the connectivity controller checks against the new bandwidth (jobs without byte
  figures are judged by their network request alone, once per distinct request).
* the same device changes at 100,000 jobs (1,000 apps x 100), after they all settle.

Run: ``python -m bench core_bench`` (or ``python -m bench.core_bench``); ``--no-large`` skips the
100,000-job rows (they take a while to build).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

from uidt.device.state import DeviceState, NetworkState
from uidt.job import JobInfo, NetworkType
from uidt.server import AppInfo, Caller, JobSchedulerService
from uidt.settings import Settings
from uidt.testing import FakeClock, run_until_idle

NUM_APPS = 100
JOBS_PER_APP = 100
SERVICE = "bench.app:Service"


def _build(
    device: DeviceState, num_apps: int = NUM_APPS, download_bytes: int = -1
) -> JobSchedulerService:
    apps = {
        f"org.bench.app{i}": AppInfo(
            f"org.bench.app{i}",
            services={SERVICE: "BIND_JOB_SERVICE"},
            permissions=frozenset({"RUN_USER_INITIATED_JOBS"}),
            channels=frozenset({"transfers"}),
        )
        for i in range(num_apps)
    }
    svc = JobSchedulerService(
        clock=FakeClock(),
        settings=Settings(concurrency_limit=16),
        device=device,
        installed_memory_bytes=16 * 1024**3,
        apps=apps,
    )
    with svc.batch():
        for app in apps:
            caller = Caller(app, visible=False)
            for job_id in range(JOBS_PER_APP):
                job = (
                    JobInfo.Builder(job_id, SERVICE)
                    .set_required_network_type(NetworkType.ANY)
                    .set_requires_charging(True)
                    .set_estimated_network_bytes(download_bytes, -1)
                    .build()
                )
                svc.schedule(caller, None, job)
    run_until_idle(svc)
    return svc


class Figure(NamedTuple):
    """Median wall and CPU milliseconds of one row. On a shared machine the wall time also counts
    the waits for a core; the process's CPU time does not, so it is the figure to compare."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:8.3f} ms (CPU {self.cpu:8.3f} ms)"


def _median_ms(action: Callable[[], None], repeat: int) -> Figure:
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return Figure(statistics.median(wall), statistics.median(cpu))


def _toggle(svc: JobSchedulerService, app: str) -> Callable[[], None]:
    state = {"charging": True, "job": 0}

    def action() -> None:
        state["charging"] = not state["charging"]
        svc.update_constraints(app, None, state["job"], requires_charging=state["charging"])
        run_until_idle(svc)

    return action


def _flipping(svc: JobSchedulerService, devices: list[DeviceState]) -> Callable[[], None]:
    flip = {"i": 0}

    def action() -> None:
        flip["i"] ^= 1
        svc.on_device_state(devices[flip["i"]])
        run_until_idle(svc)

    return action


def _device_rows(svc: JobSchedulerService, repeat: int) -> tuple[Figure, Figure, Figure]:
    """Median ms of the three device changes (``repeat`` even: each ends where it began)."""
    none = _flipping(svc, [DeviceState(), DeviceState(storage_low=True)])
    fast, slow = NetworkState(downstream_kbps=100_000), NetworkState(downstream_kbps=50_000)
    every = _flipping(svc, [DeviceState(network=fast), DeviceState(network=slow)])
    charging = _flipping(svc, [DeviceState(), DeviceState(charging=False)])
    return _median_ms(none, repeat), _median_ms(every, repeat), _median_ms(charging, repeat)


def _queued(svc: JobSchedulerService) -> int:
    return len(svc.pending)


def main(argv: list[str] | None = None) -> None:
    """Print the figures."""
    large = "--no-large" not in (sys.argv[1:] if argv is None else argv)
    waiting = _build(DeviceState(charging=False))
    one_waiting = _median_ms(_toggle(waiting, "org.bench.app7"), 41)
    queued = _build(DeviceState())
    one_queued = _median_ms(_toggle(queued, "org.bench.app7"), 21)
    pending = _queued(queued)
    none, every, charging = _device_rows(queued, 10)
    jobs = NUM_APPS * JOBS_PER_APP
    print(f"jobs: {jobs}, concurrency limit 16, pending queue {pending}")
    print(f"check pass, one constraint changes, queue empty : {one_waiting} (target < 20 ms)")
    print(f"check pass, one constraint changes, {pending} queued: {one_queued}")
    print(f"device change that concerns no job              : {none} (target < 5 ms)")
    print(f"device change that concerns all {jobs} jobs     : {every} (target < 20 ms)")
    print(f"charging flips for all {jobs} jobs (all requeued): {charging}")
    sized = _build(DeviceState(), download_bytes=100 * 1024**2)
    fast, slow = NetworkState(downstream_kbps=100_000), NetworkState(downstream_kbps=50_000)
    sized_every = _median_ms(
        _flipping(sized, [DeviceState(network=fast), DeviceState(network=slow)]), 10
    )
    print(f"  the same, every job estimating 100 MiB        : {sized_every}")
    if not large:
        return
    start = time.perf_counter()
    big = _build(DeviceState(), num_apps=1_000)
    built = time.perf_counter() - start
    big_pending = _queued(big)
    none, every, charging = _device_rows(big, 4)
    print(
        f"100,000 jobs (1,000 apps x 100) scheduled and settled in {built:.1f} s, "
        f"pending queue {big_pending}"
    )
    print(f"  device change that concerns no job            : {none}")
    print(f"  device change that concerns all 100,000 jobs  : {every}")
    print(f"  charging flips for all 100,000 jobs           : {charging}")


if __name__ == "__main__":
    main()

"""Scheduler core: the cost of one check pass over 10,000 jobs.

Three figures (median of repeated runs, milliseconds):

* *one constraint changes, queue empty*: 10,000 jobs all waiting for charging; one job's
  constraints are updated (``update_constraints``) and the check pass that follows starts it.
  Target: under 20 ms.
* *one constraint changes, 10,000 queued*: every job is ready but the slots are full, so the
  pass also orders the whole pending queue.
* *device change*: a new device snapshot re-evaluates all 10,000 jobs.

Run: ``python -m bench core_bench`` (or ``python -m bench.core_bench``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from uidt.device.state import DeviceState
from uidt.job import JobInfo, NetworkType
from uidt.server import AppInfo, Caller, JobSchedulerService
from uidt.settings import Settings
from uidt.testing import FakeClock, run_until_idle

NUM_APPS = 100
JOBS_PER_APP = 100
SERVICE = "bench.app:Service"


def _build(device: DeviceState) -> JobSchedulerService:
    apps = {
        f"org.bench.app{i}": AppInfo(
            f"org.bench.app{i}",
            services={SERVICE: "BIND_JOB_SERVICE"},
            permissions=frozenset({"RUN_USER_INITIATED_JOBS"}),
            channels=frozenset({"transfers"}),
        )
        for i in range(NUM_APPS)
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
                    .build()
                )
                svc.schedule(caller, None, job)
    run_until_idle(svc)
    return svc


def _median_ms(action: Callable[[], None], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _toggle(svc: JobSchedulerService, app: str) -> Callable[[], None]:
    state = {"charging": True, "job": 0}

    def action() -> None:
        state["charging"] = not state["charging"]
        svc.update_constraints(app, None, state["job"], requires_charging=state["charging"])
        run_until_idle(svc)

    return action


def main() -> None:
    """Print the three figures."""
    waiting = _build(DeviceState(charging=False))
    one_waiting = _median_ms(_toggle(waiting, "org.bench.app7"), 41)
    queued = _build(DeviceState())
    one_queued = _median_ms(_toggle(queued, "org.bench.app7"), 21)
    devices = [DeviceState(), DeviceState(storage_low=True)]
    flip = {"i": 0}

    def device_change() -> None:
        flip["i"] ^= 1
        queued.on_device_state(devices[flip["i"]])
        run_until_idle(queued)

    full = _median_ms(device_change, 5)
    jobs = NUM_APPS * JOBS_PER_APP
    print(f"jobs: {jobs}, concurrency limit 16, pending queue {len(queued.queue)}")
    print(
        f"check pass, one constraint changes, queue empty : {one_waiting:8.3f} ms (target < 20 ms)"
    )
    print(f"check pass, one constraint changes, {len(queued.queue)} queued: {one_queued:8.3f} ms")
    print(f"check pass, device change re-evaluates all jobs : {full:8.3f} ms")


if __name__ == "__main__":
    main()

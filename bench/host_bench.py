"""App hosting: time from ``bind`` to ``on_start_job`` running, with a cold and a warm worker.

Cold: no worker for the app; the clock starts at ``AppHost.bind`` (the core's ``BindApp``) and stops
when the service's ``on_start_job`` has run its first line (it reports bytes at once, and the
daemon-side event is the stop mark). Warm: the worker is up and has run the service before; the
clock starts at ``start_job``. Targets: cold < 300 ms, warm < 10 ms. Medians of many runs.

Decode: what the daemon spends on one frame from a worker (``protocol.decode`` into a typed
message, then ``AppHost._dispatch`` into the core's event value), for a byte update, a start
result, a ``job_finished`` and a pong in turn; median of several rounds, in microseconds.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from uidt.host import messages as msg
from uidt.host import protocol
from uidt.host.apphost import AppHost, _Worker
from uidt.host.events import BytesTransferred, EventQueue, HostEvent, ProcessDied
from uidt.job.params import JobParameters
from uidt.packages.manifest import Manifest

COLD_RUNS = 20
WARM_RUNS = 50
APP = "org.bench.host"

SERVICE = """
from uidt.app.service import JobService


class BenchService(JobService):
    async def on_start_job(self, params):
        self.update_transferred_network_bytes(params, 1, 0)
        self.job_finished(params, False)
        return True
"""


async def _until(events: EventQueue, kind: type[HostEvent]) -> None:
    while not isinstance(await events.get(30), kind):
        pass


async def _measure(root: Path) -> tuple[list[float], list[float]]:
    manifest = Manifest.from_dict(
        {
            "package": APP,
            "services": [{"name": "bench_app:BenchService", "permission": "BIND_JOB_SERVICE"}],
            "root": str(root),
        }
    )
    events = EventQueue()
    host = AppHost(events, idle_timeout_s=60)
    cold: list[float] = []
    warm: list[float] = []
    run_id = 0
    try:
        for _ in range(COLD_RUNS):
            run_id += 1
            began = time.perf_counter()
            await host.bind(manifest)
            await host.start_job(APP, run_id, "bench_app:BenchService", JobParameters(1))
            await _until(events, BytesTransferred)
            cold.append(time.perf_counter() - began)
            await host.kill(APP)
            await _until(events, ProcessDied)
        await host.bind(manifest)
        for _ in range(WARM_RUNS + 1):
            run_id += 1
            began = time.perf_counter()
            await host.start_job(APP, run_id, "bench_app:BenchService", JobParameters(1))
            await _until(events, BytesTransferred)
            warm.append(time.perf_counter() - began)
        warm = warm[1:]  # the first warm run still imports the service
    finally:
        await host.close()
    return cold, warm


DECODE_FRAMES = 20_000
DECODE_ROUNDS = 7


def _decode_us() -> list[float]:
    """Microseconds per frame, decode + dispatch, one value per round."""
    bodies = [
        protocol.encode(message)[4:]
        for message in (
            msg.UpdateTransferredBytes(7, 123_456_789, 0),
            msg.StartResult(7, True),
            msg.JobFinished(7, False),
            msg.Pong(3),
        )
    ]
    received: list[HostEvent] = []
    host = AppHost(received.append)
    worker = _Worker(APP, None, None, None)  # type: ignore[arg-type]  # dispatch sends nothing here
    rounds = []
    for _ in range(DECODE_ROUNDS):
        received.clear()
        began = time.perf_counter()
        for _ in range(DECODE_FRAMES // len(bodies)):
            for body in bodies:
                host._dispatch(worker, protocol.decode(body, protocol.FROM_WORKER))
        rounds.append((time.perf_counter() - began) / DECODE_FRAMES * 1e6)
    return rounds


def main() -> None:
    """Print the medians (and spread) of cold and warm bind-to-``on_start_job`` times."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "bench_app.py").write_text(SERVICE)
        cold, warm = asyncio.run(_measure(root))
    for name, values, target in (("cold", cold, 300.0), ("warm", warm, 10.0)):
        ms = sorted(v * 1000 for v in values)
        median = statistics.median(ms)
        verdict = "ok" if median < target else "OVER TARGET"
        print(
            f"host {name}: median {median:7.2f} ms  (min {ms[0]:.2f}, max {ms[-1]:.2f}, "
            f"n={len(ms)}; target < {target:.0f} ms: {verdict})"
        )
    rounds = sorted(_decode_us())
    print(
        f"host decode: median {statistics.median(rounds):7.2f} us per frame  "
        f"(min {rounds[0]:.2f}, n={len(rounds)} rounds of {DECODE_FRAMES})"
    )


if __name__ == "__main__":
    main()

"""The opt-in Prometheus endpoint (the ``metrics`` setting): what the daemon's jobs are doing.

Off unless ``metrics = "127.0.0.1:9464"`` (loopback only) is set; then, and only then, the
``prometheus_client`` package is imported (``pip install 'uidt[metrics]'``) and its own HTTP
server answers ``GET /metrics`` on a thread of its own.

The numbers come from watching the job list (the same objects as ``uidt jobs --json``) each time
the daemon's state changes (:func:`uidt.daemon.jobwatch.follow`), so the scheduler core needs no
hooks. :class:`JobMetrics` turns two successive lists into counts:

* ``uidt_jobs{app,state}``: scheduled jobs by state (active, pending, ready, waiting);
* ``uidt_job_starts_total{app}`` and ``uidt_job_stops_total{app,stop_reason,end}``: a job seen
  running that was not before is a start; one no longer running is a stop, with Android's public
  stop reason (``JobParameters.getStopReason()``, e.g. ``device_state``, ``user``) and how it
  ended (its state afterwards: ``finished``, ``failed``, ``cancelled``, or ``rescheduled``);
* ``uidt_transferred_bytes_total{app,direction}`` and ``uidt_transfer_rate_bytes_per_second
  {direction}``: what running jobs report having transferred (``transferred_*_bytes``), and its
  rate over the last :data:`RATE_WINDOW_S`;
* ``uidt_constraint_wait_seconds``: how long a job waited for its constraints (state
  ``waiting``) before it could run;
* ``uidt_scheduling_latency_seconds``: from runnable (``ready`` or ``pending``) to running;
* ``uidt_store_commit_seconds``: how long each commit of the store writer took (one
  transaction, one fsync with SQLite), timed by the writer itself: :meth:`JobMetrics.watch_store`
  sets its ``commit_observer``, so every commit is counted, none sampled.

A job scheduled and started between two looks counts as a start but adds no latency (its
latency is unknown, only that it was under the interval); a run shorter than the observation interval may go
unseen, and the bytes a job transfers after
the last observation before it ends are not counted: these are samples, not an audit.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from uidt.daemon.jobwatch import JobKey, stop_reason_name
from uidt.daemon.jobwatch import job_key as _key
from uidt.errors import DaemonError

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

    from uidt.store.writer import StoreWriter

log = logging.getLogger("uidt.daemon")

RATE_WINDOW_S = 10.0
RUNNABLE = ("ready", "pending")
#: Histogram buckets (seconds) for waits and latencies: from 10 ms to a day.
BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 86400)
#: Histogram buckets (seconds) for store commits: from half a millisecond to 10 s.
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


@dataclass
class _Seen:
    state: str
    since: float  # when it entered ``state``
    down: int = 0
    up: int = 0


@dataclass
class JobMetrics:
    """Prometheus metrics fed by successive job lists (:meth:`observe`); its own registry."""

    registry: CollectorRegistry = field(init=False)
    _seen: dict[JobKey, _Seen] = field(default_factory=dict, init=False)
    _states: dict[tuple[str, str], int] = field(default_factory=dict, init=False)
    _samples: deque[tuple[float, int, int]] = field(default_factory=deque, init=False)
    _total_down: int = field(default=0, init=False)
    _total_up: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self.starts = Counter(
            "uidt_job_starts", "Job runs started.", ["app"], registry=self.registry
        )
        self.stops = Counter(
            "uidt_job_stops",
            "Job runs that ended, by Android's public stop reason and the state after.",
            ["app", "stop_reason", "end"],
            registry=self.registry,
        )
        self.transferred = Counter(
            "uidt_transferred_bytes",
            "Bytes running jobs reported transferred.",
            ["app", "direction"],
            registry=self.registry,
        )
        self.constraint_wait = Histogram(
            "uidt_constraint_wait_seconds",
            "How long jobs waited for their constraints before they could run.",
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.latency = Histogram(
            "uidt_scheduling_latency_seconds",
            "From runnable (constraints met) to running.",
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.store_commit = Histogram(
            "uidt_store_commit_seconds",
            "How long each commit of the job store took (one transaction).",
            buckets=COMMIT_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StateCollector(self))

    def watch_store(self, writer: StoreWriter) -> None:
        """Time every commit of ``writer`` (its observer runs on the writer's thread)."""
        writer.commit_observer = self._committed

    def _committed(self, seconds: float, writes: int) -> None:
        self.store_commit.observe(seconds)

    def observe(
        self, scheduled: Iterable[dict[str, Any]], ended: Iterable[dict[str, Any]], now: float
    ) -> None:
        """Account for the change from the last list to ``scheduled`` (``ended``: the end records).

        ``now``: seconds on any monotonic clock (the same one every call).
        """
        current = {_key(job): job for job in scheduled}
        last_end = {_key(job): job for job in ended}  # later records win: the latest end
        states: dict[tuple[str, str], int] = {}
        for job in current.values():
            label = (job["app"], job["state"])
            states[label] = states.get(label, 0) + 1
        self._states = states
        for key, before in list(self._seen.items()):
            still = current.get(key)
            if still is None or still["state"] != before.state:
                self._left(key, before, still, last_end.get(key), now)
                if still is None:
                    del self._seen[key]
        for key, job in current.items():
            seen = self._seen.get(key)
            if seen is None or seen.state != job["state"]:
                if job["state"] == "active":
                    self.starts.labels(app=key[0]).inc()
                seen = _Seen(job["state"], now, *(() if seen is None else (seen.down, seen.up)))
                self._seen[key] = seen
            self._count_bytes(key, seen, job)
        self._samples.append((now, self._total_down, self._total_up))
        while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW_S:
            self._samples.popleft()

    def _left(
        self,
        key: JobKey,
        seen: _Seen,
        job: dict[str, Any] | None,
        end: dict[str, Any] | None,
        now: float,
    ) -> None:
        waited = max(0.0, now - seen.since)
        new_state = None if job is None else job["state"]
        if seen.state == "waiting" and new_state in (*RUNNABLE, "active"):
            self.constraint_wait.observe(waited)
        if seen.state in RUNNABLE and new_state == "active":
            self.latency.observe(waited)
        if seen.state == "active":
            after = job if job is not None else end
            reason = stop_reason_name(None if after is None else after.get("stop_reason"))
            finish = "rescheduled" if job is not None else (end or {}).get("state", "unknown")
            self.stops.labels(app=key[0], stop_reason=reason, end=str(finish)).inc()

    def _count_bytes(self, key: JobKey, seen: _Seen, job: dict[str, Any]) -> None:
        down = int(job.get("transferred_download_bytes") or 0)
        up = int(job.get("transferred_upload_bytes") or 0)
        # A new run starts again from zero: count from there.
        more_down = down - seen.down if down >= seen.down else down
        more_up = up - seen.up if up >= seen.up else up
        seen.down, seen.up = down, up
        if more_down:
            self.transferred.labels(app=key[0], direction="download").inc(more_down)
            self._total_down += more_down
        if more_up:
            self.transferred.labels(app=key[0], direction="upload").inc(more_up)
            self._total_up += more_up

    def rate(self) -> tuple[float, float]:
        """Bytes per second (download, upload) over the samples of the last window."""
        if len(self._samples) < 2:
            return 0.0, 0.0
        (t0, d0, u0), (t1, d1, u1) = self._samples[0], self._samples[-1]
        span = t1 - t0
        if span <= 0:
            return 0.0, 0.0
        return (d1 - d0) / span, (u1 - u0) / span

    def states(self) -> dict[tuple[str, str], int]:
        return dict(self._states)


class _StateCollector:
    """Gauges computed at scrape time from the last observation (no stale label left over)."""

    def __init__(self, metrics: JobMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        jobs = GaugeMetricFamily(
            "uidt_jobs", "Scheduled jobs by app and state.", labels=["app", "state"]
        )
        for (app, state), count in sorted(self.metrics.states().items()):
            jobs.add_metric([app, state], count)
        yield jobs
        rate = GaugeMetricFamily(
            "uidt_transfer_rate_bytes_per_second",
            f"Transfer rate of running jobs over the last {RATE_WINDOW_S:g} s.",
            labels=["direction"],
        )
        down, up = self.metrics.rate()
        rate.add_metric(["download"], down)
        rate.add_metric(["upload"], up)
        yield rate


@dataclass
class MetricsServer:
    """The endpoint: ``prometheus_client``'s HTTP server over a :class:`JobMetrics` registry."""

    metrics: JobMetrics
    url: str
    _close: Callable[[], None]

    def close(self) -> None:
        self._close()


def serve_metrics(address: str, metrics: JobMetrics) -> MetricsServer:
    """Serve ``metrics`` at ``http://ADDRESS/metrics`` (port 0: any free port).

    Raises:
        OSError: the address cannot be bound.
    """
    from prometheus_client import start_http_server

    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    server, thread = start_http_server(int(port), addr=host, registry=metrics.registry)
    bound_port = server.server_address[1]
    shown = f"[{host}]" if ":" in host else host

    def close() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return MetricsServer(metrics, f"http://{shown}:{bound_port}/metrics", close)


def open_endpoint(address: str) -> MetricsServer:
    """Serve a fresh :class:`JobMetrics` on ``address`` (the ``metrics`` setting).

    Raises:
        DaemonError: ``prometheus_client`` is missing, or the address cannot be bound.
    """
    try:
        served = serve_metrics(address, JobMetrics())
    except ImportError:
        raise DaemonError(
            "the metrics setting needs the prometheus_client package: "
            "pip install 'uidt[metrics]' (or set metrics = off)"
        ) from None
    except OSError as exc:
        raise DaemonError(f"cannot serve metrics on {address}: {exc.strerror or exc}") from exc
    log.info("Prometheus metrics on %s", served.url)
    return served

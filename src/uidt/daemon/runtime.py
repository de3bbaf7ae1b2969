"""The daemon's runtime: the one owner of the scheduler core, carrying out its actions.

Everything here runs on the daemon's single asyncio loop. API handlers, device listeners, timers
and the app host hand the core an event value (:mod:`uidt.server.events`) through
:meth:`Runtime.apply`, which always flushes the actions it returned: store writes are queued on
the store writer (:class:`~uidt.store.writer.StoreWriter`: committed on its own thread, all
writes of one flush in one commit; the control API awaits ``runtime.store.sync()`` before it
answers a request that queued writes, so a persisted job is durable before ``schedule()``
answers), process work (bind, start, stop, kill) is handed to the app host, timers are re-armed.
Facts from the app host arrive at :meth:`Runtime.on_host_event` (the host's event sink).

Two facets hold the rest: ``runtime.apps`` (:class:`~uidt.daemon.apps.InstalledApps`: install,
list, remove apps, grant and revoke permissions) and ``runtime.shutdown``
(:class:`~uidt.daemon.shutdown.Shutdown`: the request to stop and the graceful stop of the
running jobs).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, overload

from uidt.clock import Clock, millis_from_utc
from uidt.daemon.about import DaemonAbout
from uidt.daemon.appnotifications import AppNotifications
from uidt.daemon.apps import InstalledApps
from uidt.daemon.bandwidth import BandwidthMeter
from uidt.daemon.bandwidth_limit import BandwidthLimiter
from uidt.daemon.changes import ChangeFeed
from uidt.daemon.devicehistory import DeviceHistory
from uidt.daemon.fleet import FleetDesk
from uidt.daemon.keyedlocks import KeyedLocks
from uidt.daemon.lowmemory import LowMemoryKiller
from uidt.daemon.notificationactions import ClickSource, NotificationActions
from uidt.daemon.offers import FleetOffers
from uidt.daemon.scheduling import caller_of
from uidt.daemon.shell import run_shell_command
from uidt.daemon.shutdown import Shutdown
from uidt.daemon.visibility import Visibility
from uidt.device.source import DeviceSource
from uidt.device.state import DeviceState, MemoryPressure
from uidt.errors import InvalidJobError, LeaseLostError
from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.job.params import JobParameters
from uidt.job.work import JobWorkItem
from uidt.server import actions as act
from uidt.server import events as ev
from uidt.server.service import JobSchedulerService
from uidt.store.base import JobStore
from uidt.store.record import JobRecord, NotificationRecord
from uidt.store.writer import StoreWriter
from uidt.timing import mark
from uidt.transfers.names import TRANSFERS_APP

log = logging.getLogger("uidt.daemon")


class Runtime:
    """Owns the core, the store and the app host for one daemon."""

    def __init__(
        self,
        *,
        service: JobSchedulerService,
        store: JobStore | StoreWriter,
        host: Any,
        device: DeviceSource,
        clock: Clock,
    ) -> None:
        self.service = service
        #: Where the actions' store writes go: queued, committed on the writer's thread. A plain
        #: store handed in gets a writer of its own (close it with ``runtime.store.close()``).
        self.store = store if isinstance(store, StoreWriter) else StoreWriter(store)
        #: On a shared store, what adds a run's lease to its parameters before it starts
        #: (``LeaseKeeper.tag_run``, set by ``uidt daemon``); ``None`` elsewhere.
        self.run_tagger: Callable[[JobKey, JobParameters], Awaitable[JobParameters]] | None = None
        #: On a shared store, what offers the jobs this host cannot start now to the other
        #: hosts (:class:`uidt.daemon.offers.FleetOffers`, set by ``uidt daemon``).
        self.fleet_offers: FleetOffers | None = None
        #: One lock per job key for schedule requests (:mod:`uidt.daemon.tracking`).
        self.schedule_locks = KeyedLocks()
        self.host = host
        self.device = device
        self.clock = clock
        #: The installed apps (``uidt apps``): their manifests and the verbs that change them.
        self.apps = InstalledApps(store=self.store, clock=clock, service=service, apply=self.apply)
        #: The apps' NotificationManager calls (created channels, notify, cancel).
        self.notification_manager = AppNotifications(
            apps=self.apps, store=self.store, service=service, apply=self.apply
        )
        #: Clicks on the apps' notification buttons (checked, granted, delivered).
        self.notification_actions = NotificationActions(
            apps=self.apps,
            service=service,
            grant=self.grant_user_interaction,
            deliver=lambda *args: self.host.notification_action(*args),
            spawn=self._spawn,
        )
        #: The request to stop and the graceful stop of the running jobs.
        self.shutdown = Shutdown(self.apply)
        self.visibility = Visibility(
            clock=clock,
            grace_ms=service.settings.visible_grace_ms,
            note_visible=lambda app, visible: self.apply(ev.AppVisible(app, visible)),
            changed=self.flush,
        )
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._pending_commands: dict[int, asyncio.Future[tuple[int, str, str]]] = {}
        self.task_group: asyncio.TaskGroup | None = None
        #: Bumped on every device change (``cmd get-battery-seq`` / ``get-storage-seq``).
        self.device_seq = 0
        self.notification_sinks: list[
            Callable[[str, NotificationRecord | tuple[str, int]], None]
        ] = []
        self.web_login: Callable[[], str | None] = lambda: None
        #: Throughput measured from transfers, kept per network by the device source.
        self.bandwidth = BandwidthMeter()
        #: Set by the daemon: chooses low-memory victims (``None``: no killer).
        self.low_memory: LowMemoryKiller | None = None
        #: The last app crashes (tracebacks), shown by ``uidt dumpsys``.
        self.crashes: list[dict[str, Any]] = []
        #: Moves on every flush; ``GET /v1/jobs?since=&wait_ms=`` waits on it.
        self.changes = ChangeFeed()
        #: Set by the daemon once it knows its options (``GET /v1/status``).
        self.about: DaemonAbout | None = None
        #: The fleet view and the Task Manager's Stop on every host; this host alone until the
        #: daemon's main hands it a shared store (docs/fleet.md).
        self.fleet = FleetDesk(self, None)
        #: The global ``bandwidth_limit``, divided among the running transfers at every flush.
        self.bandwidth_limit = BandwidthLimiter(
            service.settings.bandwidth_limit,
            clock=clock,
            running=lambda: self.service.running.values(),
            send=self._send_bandwidth_share,
        )
        #: The device readings kept for timelines (``GET /v1/device/history``).
        self.device_history = DeviceHistory(
            self.store,
            utc_ms=lambda: millis_from_utc(clock.utc()),
            days=service.settings.device_history_days,
            max_readings=service.settings.device_history_max,
        )

    # -- start-up ------------------------------------------------------------------------------

    def load(self) -> None:
        """Register installed apps, load persisted jobs (zero failures, flags kept) and the
        notifications that outlive their jobs (docs/daemon.md, notifications after a restart)."""
        self.apps.load()
        self.service.load(self.store.load_jobs(), self.store.load_notifications())
        self.device_history.load()
        self.device.add_listener(self._on_device_state)
        snapshot = self.device.snapshot()
        self.device_history.record(snapshot)
        self.apply(ev.DeviceChanged(snapshot))

    def adopt(self, records: list[JobRecord]) -> list[JobKey]:
        """Take in jobs claimed from a shared store while running (docs/fleet.md), as if loaded
        at start; returns the keys it cannot take (app not installed here, or shutting down)."""
        if self.shutdown.under_way:
            return [r.key for r in records]
        known = [r for r in records if self.apps.get(r.key.app) is not None]
        if known:
            self.service.load(known)
            self.flush()
        return [r.key for r in records if self.apps.get(r.key.app) is None]

    def _on_device_state(self, state: DeviceState) -> None:
        self.device_seq += 1
        self.device_history.record(state)
        self.apply(ev.DeviceChanged(state))
        self._check_memory(state)

    async def watch_memory(self, period_s: float = 1.0) -> None:
        """While memory stays critical, keep choosing victims (one per killer interval)."""
        while True:
            await asyncio.sleep(period_s)
            self._check_memory(self.device.snapshot())

    def _check_memory(self, state: DeviceState) -> None:
        """At critical memory pressure, kill the largest app worker (no ``on_stop_job``)."""
        if self.low_memory is None or state.memory < MemoryPressure.CRITICAL:
            return  # checked every second: no snapshot of every job unless it matters
        running_apps = {ctx.app for ctx in self.service.running.values()}
        victim = self.low_memory.victim(state, sorted(running_apps))
        if victim is not None:
            self.apply(ev.LowMemoryKill(victim))

    # -- the action pump -----------------------------------------------------------------------

    @overload
    def apply(self, event: ev.Schedule) -> int: ...
    @overload
    def apply(self, event: ev.CoreEvent) -> None: ...
    def apply(self, event: ev.CoreEvent | ev.Schedule) -> int | None:
        """Hand ``event`` to the core, then carry out its actions (also when the core raised)."""
        try:
            return self.service.handle(event)
        finally:
            self.flush()

    def flush(self) -> None:
        """Carry out every action the core has queued, then re-arm the timer.

        The store writes of one flush go into one commit (queued, not waited for)."""
        with self.store.batch():
            while True:
                actions = self.service.take_actions()
                if not actions:
                    break
                for action in actions:
                    try:
                        self._carry_out(action)
                    except Exception:  # one failed action must not stop the pump
                        log.exception("carrying out %r failed", action)
        self._refresh_bandwidth_shares()
        self._wake.set()
        self.changes.bump()

    def _carry_out(self, action: object) -> None:
        if self.shutdown.under_way and isinstance(action, act.BindApp | act.StartJob):
            log.info("shutting down: not carrying out %s", type(action).__name__)
            return
        match action:
            case act.PersistJob(record=record):
                self.store.put_job(record)
            case act.RemoveJob(key=key):
                self.store.remove_job(key)
            case act.PostNotification(record=record):
                self.store.put_notification(record)
                for sink in self.notification_sinks:
                    sink("post", record)
            case act.RemoveNotification(app=app, notification_id=nid):
                self.store.remove_notification(app, nid)
                for sink in self.notification_sinks:
                    sink("remove", (app, nid))
            case act.BindApp(app=app):
                mark("daemon.bind")
                manifest = self.apps.get(app)
                if manifest is None:
                    self.service.handle(ev.BindFailed(app, "not installed"))
                else:
                    self._spawn(self.host.bind(manifest))
            case act.StartJob(run_id=run_id, key=key, service=service, params=params):
                mark("daemon.start_job")
                # The run's share goes out before its start: no byte moves unlimited.
                self._refresh_bandwidth_shares()
                self._spawn(self._start_job(key, run_id, service, params))
            case act.StopJob(run_id=run_id, key=key, stop_reason=reason, internal_reason=internal):
                self.shutdown.stopping(run_id, key.app)
                self._spawn(self.host.stop_job(key.app, run_id, reason, internal))
            case act.NetworkChanged(run_id=run_id, key=key, network=network):
                self._spawn(self.host.network_changed(key.app, run_id, network))
            case act.KillApp(app=app):
                self._spawn(self.host.kill(app))
            case act.UnbindApp(app=app):
                self._spawn(self.host.unbind(app))
            case act.RecordAnr():
                log.warning("ANR: %s", action)
            case act.CommandCompleted(token=token, code=code, output=output, error=error):
                future = self._pending_commands.pop(token, None)
                if future is not None and not future.done():
                    future.set_result((code, output, error))
            case _:
                log.debug("no shell handling for %r", action)

    async def _start_job(
        self, key: JobKey, run_id: int, service: str, params: JobParameters
    ) -> None:
        """Send the run to its worker, with its lease on a shared store (the fence's); not at
        all if the job was offered to the other hosts and one claimed it first (the core was
        told: it stops the run and forgets the job)."""
        if self.run_tagger is not None:
            try:
                params = await self.run_tagger(key, params)
            except LeaseLostError:
                return
        await self.host.start_job(key.app, run_id, service, params)

    def _refresh_bandwidth_shares(self) -> None:
        """Divide the global limit among the running transfers again (after every flush, a
        change of the limit and a page of its timetable); only changed shares are sent."""
        try:
            self.bandwidth_limit.refresh()
        except Exception:  # the limit must never stop the pump
            log.exception("dividing the bandwidth limit failed")

    def _send_bandwidth_share(self, run_id: int, share: int | None) -> None:
        self._spawn(self.host.bandwidth_limit(TRANSFERS_APP, run_id, share))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run host work in the daemon's task group; a failure is logged, never fatal."""
        if self._closing:
            coro.close()
            return
        if self.task_group is not None:
            task = self.task_group.create_task(self._guarded(coro))
        else:  # used outside `uidt daemon` (tests driving a Runtime directly)
            task = asyncio.get_running_loop().create_task(self._guarded(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_host_operations(self) -> None:
        """At shutdown: start no more host work and cancel what is still under way."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _guarded(self, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("host operation failed")

    async def run_timers(self) -> None:
        """Call the core's ``tick()`` whenever its next timer is due."""
        while True:
            self._wake.clear()
            due = self.service.next_wakeup()
            if due is not None:
                delay = max(0, due - self.clock.elapsed()) / 1000
                if delay <= 0:
                    self.apply(ev.TimerDue())
                    continue
                # Not asyncio.wait_for: on 3.11 it swallows a cancel that races with the wake-up
                # (the event is set by the flush of the very shutdown that cancels this task).
                try:
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                except TimeoutError:
                    self.apply(ev.TimerDue())
            else:
                await self._wake.wait()

    # -- facts from the app host ---------------------------------------------------------------

    def on_host_event(self, event: ev.HostEvent) -> None:
        """The app host's event sink: the core decides, then the shell's own bookkeeping.

        Raises:
            InvalidJobError: the core refused a ``NotificationSet`` (the app's call raises it).
        """
        self.apply(event)
        match event:
            case ev.StopResult(run_id=run_id) | ev.Finished(run_id=run_id):
                self.bandwidth.forget(run_id)
                self.shutdown.answered(lambda run, _app: run == run_id)
            case ev.ProcessDied(app=app):
                self.shutdown.answered(lambda _run, owner: owner == app)
            case ev.BytesTransferred(run_id=run_id, download=download, upload=upload):
                self._record_bandwidth(run_id, download, upload)
            case ev.JobCrashed(app=app, run_id=run_id, traceback=text):
                # Android kills a crashing app process; so do we (the core kept the crash).
                log.error("app %s crashed in run %d:\n%s", app, run_id, text)
                self.crashes.append({"app": app, "run_id": run_id, "traceback": text[-4000:]})
                del self.crashes[:-20]
                self._spawn(self.host.kill(app))
            case _:
                pass

    def _record_bandwidth(self, run_id: int, download: int, upload: int) -> None:
        rate = self.bandwidth.report(run_id, self.clock.elapsed(), download, upload)
        network = self.device.snapshot().network
        record = getattr(self.device, "record_bandwidth", None)
        if rate is not None and network is not None and record is not None:
            record(network.name, *rate)

    # -- app visibility (see uidt.daemon.visibility) ------------------------------------------------------------------------

    def on_notification_action(self, app: str, notification_id: int, action_id: str) -> None:
        """A click in a desktop notification: see :class:`NotificationActions` (a refused one is
        logged: there is nobody to answer)."""
        try:
            self.notification_actions.click(app, notification_id, action_id, ClickSource.DESKTOP)
        except InvalidJobError as exc:
            log.warning("refused a desktop notification click: %s", exc)

    def click_notification_action(
        self, app: str, notification_id: int, action_id: str
    ) -> dict[str, Any]:
        """A click on the Task Manager page (see :class:`NotificationActions`)."""
        return self.notification_actions.click(app, notification_id, action_id, ClickSource.WEB)

    def grant_user_interaction(self, app: str) -> None:
        """The user just interacted with the app (a click): it may start UIJs for a while."""
        self.visibility.grant(app)

    def open_activity(self, app: str, pid: int | None) -> str:
        self.apps.require(app)
        return self.visibility.open(app, pid)  # its AppVisible event is applied (and flushed)

    def close_activity(self, app: str, token: str) -> None:
        self.visibility.close(app, token)  # applies AppVisible when the token was the app's

    # -- API operations ------------------------------------------------------------------------

    def schedule(
        self,
        app: str,
        namespace: str | None,
        job: JobInfo,
        work: JobWorkItem | None,
        *,
        peer_pid: int | None,
        interaction_grant: bool = False,
    ) -> int:
        """Hand a schedule to the core at once; its write is queued (the control API stores
        the job first instead: :func:`uidt.daemon.scheduling.schedule_durably`)."""
        mark("daemon.schedule")
        caller = caller_of(self, app, peer_pid, interaction_grant=interaction_grant)
        return self.apply(ev.Schedule(caller, namespace, job, work))

    def cancel(self, app: str, namespace: str | None, job_id: int) -> None:
        self.apps.require(app)
        self.apply(ev.Cancel(app, namespace, job_id))

    def cancel_all(self, app: str, namespace: str | None) -> None:
        self.apps.require(app)
        self.apply(ev.CancelAll(app, namespace))

    def cancel_in_all_namespaces(self, app: str) -> None:
        self.apps.require(app)
        self.apply(ev.CancelInAllNamespaces(app))

    def update_constraints(
        self, app: str, namespace: str | None, job_id: int, changes: dict[str, Any]
    ) -> None:
        self.apps.require(app)
        self.apply(ev.UpdateConstraints(app, namespace, job_id, dict(changes)))

    def user_stop(self, app: str) -> list[dict[str, Any]]:
        self.apps.require(app)
        running = [j for j in self.service.queries.jobs_snapshot(app) if j["state"] == "active"]
        self.apply(ev.UserStop(app))
        return running

    def jobs_snapshot(
        self, app: str | None, *, include_finished: bool, job_id: int | None = None
    ) -> list[dict[str, Any]]:
        return self.service.queries.jobs_snapshot(
            app, include_ended=include_finished, job_id=job_id
        )

    def job_histories(
        self, app: str, namespace: str | None, job_id: int
    ) -> tuple[list[list[Any]], list[list[int]]]:
        queries = self.service.queries
        reasons = queries.get_pending_job_reasons_history(app, namespace, job_id)
        moved = queries.get_bytes_history(app, namespace, job_id)
        return [[int(t), [int(r) for r in rs]] for t, rs in reasons], moved

    def dump(self) -> dict[str, Any]:
        data = self.service.queries.dump()
        data.setdefault("device", self.device.snapshot().to_dict())
        data["device_sources"] = self.device.describe()
        data["crashes"] = list(self.crashes)
        data["bandwidth_limit"] = self.bandwidth_limit.to_dict()
        return data

    async def run_cmd(self, args: list[str]) -> dict[str, Any]:
        return await run_shell_command(self, args)

    def register_command(self, token: int) -> asyncio.Future[tuple[int, str, str]]:
        future: asyncio.Future[tuple[int, str, str]] = asyncio.get_running_loop().create_future()
        self._pending_commands[token] = future
        return future

    def web_login_url(self) -> str | None:
        return self.web_login()

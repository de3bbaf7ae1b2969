"""An in-process stand-in for app workers, and ``run_until_idle`` to drive the core with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from uidt.job.key import JobKey
from uidt.job.notification import EndPolicy, Notification
from uidt.server.actions import (
    Action,
    BindApp,
    KillApp,
    StartJob,
    StopJob,
)
from uidt.server.service import JobSchedulerService


@dataclass
class AppBehaviour:
    """How a played app answers the core.

    Attributes:
        bind: the worker starts (``on_bound``) or not (``on_bind_failed``); ``None`` = never answers.
        start_result: what ``on_start_job`` returns; ``None`` = never answers.
        notify: a user-initiated job calls ``set_notification`` as soon as it runs.
        channel: the notification channel.
        end_policy: the notification end policy.
        stop_result: what ``on_stop_job`` returns; ``None`` = never answers.
        finish: call ``job_finished(finish)`` right after starting; ``None`` = keep running.
        fail: call ``job_failed(fail)`` right after starting instead (wins over ``finish``).
    """

    bind: bool | None = True
    start_result: bool | None = True
    notify: bool = True
    notification_id: int = 1
    channel: str = "transfers"
    end_policy: EndPolicy = EndPolicy.DETACH
    stop_result: bool | None = True
    finish: bool | None = None
    fail: str | None = None


@dataclass
class InProcessApps:
    """Plays every app against the core's actions with configurable behaviour.

    ``behaviour`` maps a job to its behaviour (default: the same for all jobs).
    """

    service: JobSchedulerService
    behaviour: Callable[[JobKey], AppBehaviour] = field(default=lambda _key: AppBehaviour())
    log: list[Action] = field(default_factory=list)
    running: dict[int, StartJob] = field(default_factory=dict)

    def __call__(self, action: Action) -> None:
        self.log.append(action)
        svc = self.service
        match action:
            case BindApp(app=app):
                bind = self._app_behaviour(app).bind
                if bind is True:
                    svc.host.on_bound(app)
                elif bind is False:
                    svc.host.on_bind_failed(app)
            case StartJob(run_id=run_id, key=key, params=params):
                b = self.behaviour(key)
                if b.start_result is None:
                    return
                self.running[run_id] = action
                svc.host.on_start_job_result(run_id, b.start_result)
                if not b.start_result:
                    self.running.pop(run_id, None)
                    return
                if b.notify and params.is_user_initiated_job():
                    svc.host.on_set_notification(
                        run_id,
                        b.notification_id,
                        Notification(b.channel, f"job {key.job_id}"),
                        b.end_policy,
                    )
                if b.fail is not None:
                    self.running.pop(run_id, None)
                    svc.host.on_job_failed(run_id, b.fail)
                elif b.finish is not None:
                    self.running.pop(run_id, None)
                    svc.host.on_job_finished(run_id, b.finish)
            case StopJob(run_id=run_id, key=key):
                result = self.behaviour(key).stop_result
                if result is not None:
                    self.running.pop(run_id, None)
                    svc.host.on_stop_job_result(run_id, result)
            case KillApp(app=app):
                for run_id, start in list(self.running.items()):
                    if start.key.app == app:
                        del self.running[run_id]
                svc.host.on_process_died(app)
            case _:
                pass

    def _app_behaviour(self, app: str) -> AppBehaviour:
        return self.behaviour(JobKey(app, None, -1))


#: How many actions one job may take to settle before :func:`run_until_idle` calls it ping-pong
#: (scheduling, persisting, binding, starting, stopping, notifications: about ten).
ACTIONS_PER_JOB = 20


def run_until_idle(
    service: JobSchedulerService,
    launcher: Callable[[Action], None] | None = None,
    *,
    max_actions: int | None = None,
) -> list[Action]:
    """Hand every queued action to ``launcher`` until the core has nothing more to say.

    Args:
        service: the core.
        launcher: called with each action (default: an :class:`InProcessApps` with default
            behaviour); it may call back into the service.
        max_actions: a guard against endless ping-pong; by default 100,000 actions or
            :data:`ACTIONS_PER_JOB` per scheduled job, whichever is more (so a core with
            100,000 jobs can settle).

    Returns:
        Every action handed out, in order.
    """
    handler = launcher if launcher is not None else InProcessApps(service)
    if max_actions is None:
        max_actions = max(100_000, ACTIONS_PER_JOB * len(service.jobs))
    seen: list[Action] = []
    while True:
        actions = service.take_actions()
        if not actions:
            return seen
        for action in actions:
            seen.append(action)
            handler(action)
            if len(seen) > max_actions:
                raise RuntimeError("run_until_idle: too many actions; the core does not settle")

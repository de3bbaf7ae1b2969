"""The shell verbs of ``cmd jobscheduler`` as core operations, with Android's outputs (docs/android-semantics.md#shell-verbs).

``run`` may have to wait (≤ ``cmd_run_connectivity_wait_ms``) for connectivity: it then returns a
:class:`CmdResult` with a ``token`` and the final result arrives later as a
:class:`~uidt.server.actions.CommandCompleted` action with that token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from uidt.job.key import JobKey
from uidt.job.reasons import InternalStopReason, StopReason
from uidt.server.actions import CommandCompleted
from uidt.server.context import Verb
from uidt.server.jobstate import JobState
from uidt.server.runs import stop_run
from uidt.server.status import Bit, JobStatus, Override, key_order

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore

CMD_ERR_NO_PACKAGE = -1000
CMD_ERR_NO_JOB = -1001
CMD_ERR_CONSTRAINTS = -1002
USER = 0


class DeferredRuns:
    """``cmd run`` commands waiting for their job's connectivity: token → (job, deadline)."""

    def __init__(self) -> None:
        self._waiting: dict[int, tuple[JobKey, int]] = {}
        self._next_token = 1

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def defer(self, key: JobKey, deadline: int) -> int:
        """Wait for ``key`` until elapsed ``deadline``; the token the final result will carry."""
        token = self._next_token
        self._next_token += 1
        self._waiting[token] = (key, deadline)
        return token

    def take_for(self, key: JobKey) -> list[int]:
        """The tokens waiting for ``key``, no longer waiting."""
        tokens = [t for t, (k, _) in self._waiting.items() if k == key]
        for token in tokens:
            del self._waiting[token]
        return tokens

    def take_expired(self, now: int) -> list[tuple[int, JobKey]]:
        """The commands whose wait is over at ``now``, no longer waiting."""
        expired = [(t, k) for t, (k, deadline) in self._waiting.items() if deadline <= now]
        for token, _ in expired:
            del self._waiting[token]
        return expired

    def deadlines(self) -> list[int]:
        """When the waiting commands give up."""
        return [deadline for _, deadline in self._waiting.values()]


@dataclass(frozen=True)
class CmdResult:
    """A shell command's result code, standard output and standard error.

    ``token`` is set when the result is deferred (see the module docstring); ``code`` is then 0
    and meaningless until the matching ``CommandCompleted`` arrives.
    """

    code: int
    output: str = ""
    error: str = ""
    token: int | None = None


def _ns(namespace: str | None) -> str:
    return "" if namespace is None else f" / namespace {namespace}"


def _no_job(app: str, namespace: str | None, job_id: int) -> CmdResult:
    return CmdResult(
        CMD_ERR_NO_JOB,
        error=f"Could not find job {job_id} in package {app}{_ns(namespace)} / user {USER}",
    )


def _constraints_error(app: str, namespace: str | None, job_id: int) -> tuple[int, str]:
    return (
        CMD_ERR_CONSTRAINTS,
        f"Job {job_id} in package {app}{_ns(namespace)} / user {USER} has functional "
        "constraints but --force not specified",
    )


def _running_text(force: bool) -> str:
    return "Running job [FORCED]" if force else "Running job"


def cmd_run(
    svc: SchedulerCore,
    app: str,
    namespace: str | None,
    job_id: int,
    *,
    force: bool = False,
    satisfied: bool = False,
) -> CmdResult:
    """``cmd run``: queue the job now, ignoring constraints per the override."""
    if force and satisfied:
        return CmdResult(-1, error="Cannot specify both --force and --satisfied")
    if app not in svc.registry:
        return CmdResult(CMD_ERR_NO_PACKAGE, error=f"Package not found: {app} / user {USER}")
    status = svc.jobs.get(JobKey(app, namespace, job_id))
    if status is None:
        return _no_job(app, namespace, job_id)
    status.override = Override.FULL if force else Override.SORTING if satisfied else Override.SOFT
    svc.dirty.add(status.key)
    svc.check_pass()
    if status.key in svc.run_table or status.ready:
        return CmdResult(0, _running_text(force))
    missing = status.unsatisfied()
    if missing == Bit.CONNECTIVITY and not status.restricted:
        deadline = svc.now() + svc.settings.cmd_run_connectivity_wait_ms
        return CmdResult(0, token=svc.deferred_runs.defer(status.key, deadline))
    status.override = Override.NONE
    svc.dirty.add(status.key)
    code, error = _constraints_error(app, namespace, job_id)
    return CmdResult(code, error=error)


def check_pending_command(svc: SchedulerCore, status: JobStatus) -> None:
    """A job a deferred ``run`` waits for became ready (or runs): complete the command."""
    if not svc.deferred_runs or not (status.ready or status.key in svc.run_table):
        return
    for token in svc.deferred_runs.take_for(status.key):
        svc.emit(CommandCompleted(token, 0, _running_text(False)))


def expire_commands(svc: SchedulerCore, now: int) -> None:
    """Deferred ``run`` commands whose wait is over fail with CMD_ERR_CONSTRAINTS."""
    for token, key in svc.deferred_runs.take_expired(now):
        status = svc.jobs.get(key)
        if status is not None:
            status.override = Override.NONE
            svc.dirty.add(key)
        code, error = _constraints_error(key.app, key.namespace, key.job_id)
        svc.emit(CommandCompleted(token, code, "", error))


def cmd_stop(
    svc: SchedulerCore,
    app: str | None = None,
    namespace: str | None = None,
    job_id: int | None = None,
    *,
    stop_reason: int = StopReason.USER,
    internal_reason: int = InternalStopReason.UNKNOWN,
) -> CmdResult:
    """``cmd stop``: send ``on_stop_job`` with the given reasons to matching EXECUTING jobs."""
    reason, internal = StopReason(stop_reason), InternalStopReason(internal_reason)
    lines: list[str] = []
    with svc.batch():
        for ctx in sorted(svc.run_table, key=lambda c: key_order(c.status.key)):
            key = ctx.status.key
            if ctx.verb is not Verb.EXECUTING:
                continue
            if app is not None and key.app != app:
                continue
            if namespace is not None and key.namespace != namespace:
                continue
            if job_id is not None and key.job_id != job_id:
                continue
            prefix = "#" if key.namespace is None else f"{key.namespace}:"
            lines.append(f"Stopping job: {prefix}{key.app}/{key.job_id} {ctx.status.job.service}")
            stop_run(svc, ctx, reason, internal)
    return CmdResult(0, "\n".join(lines) if lines else "No matching executing jobs found.")


def cmd_timeout(
    svc: SchedulerCore,
    app: str | None = None,
    namespace: str | None = None,
    job_id: int | None = None,
) -> CmdResult:
    """``cmd timeout``: ``stop -s 3 -i 3``."""
    return cmd_stop(
        svc,
        app,
        namespace,
        job_id,
        stop_reason=StopReason.TIMEOUT,
        internal_reason=InternalStopReason.TIMEOUT,
    )


def cmd_cancel(
    svc: SchedulerCore, app: str, namespace: str | None = None, job_id: int | None = None
) -> CmdResult:
    """``cmd cancel``: one job, or every job of the app (USER / CANCELED)."""
    if app not in svc.registry:
        return CmdResult(CMD_ERR_NO_PACKAGE, error=f"Package {app} not found.")
    with svc.batch():
        if job_id is None:
            keys = list(svc.app_jobs.get(app, {}))
            for key in keys:
                svc.cancel_job(key, StopReason.USER, InternalStopReason.CANCELED)
            if keys:
                return CmdResult(0, f"Canceling all jobs for {app} in user {USER}")
            return CmdResult(0, "No matching jobs found.")
        if svc.jobs.get(JobKey(app, namespace, job_id)) is None:
            return CmdResult(0, "No matching job found.")
        svc.cancel_job(JobKey(app, namespace, job_id), StopReason.USER, InternalStopReason.CANCELED)
    return CmdResult(0, f"Canceling job {app}/#{job_id} in user {USER}")


def cmd_get_job_state(
    svc: SchedulerCore, app: str, namespace: str | None, job_id: int
) -> CmdResult:
    """``cmd get-job-state``: Android's tokens ``pending``/``active`` (from the job's
    :class:`~uidt.server.jobstate.JobState`), ``user-stopped`` (the app's), ``ready``; or
    ``waiting`` when none applies."""
    status = svc.jobs.get(JobKey(app, namespace, job_id))
    if status is None:
        return _no_job(app, namespace, job_id)
    tokens: list[str] = []
    if status.state is JobState.PENDING:
        tokens.append("pending")
    if status.state is JobState.ACTIVE:
        tokens.append("active")
    if svc.registry.is_user_stopped(app):
        tokens.append("user-stopped")
    if status.ready:
        tokens.append("ready")
    return CmdResult(0, " ".join(tokens) if tokens else "waiting")


def cmd_get_bytes(
    svc: SchedulerCore,
    app: str,
    namespace: str | None,
    job_id: int,
    *,
    kind: str,
) -> CmdResult:
    """``get-{estimated,transferred}-{download,upload}-bytes``."""
    if app not in svc.registry:
        return CmdResult(CMD_ERR_NO_PACKAGE, f"unknown({app})")
    status = svc.jobs.get(JobKey(app, namespace, job_id))
    if status is None:
        return CmdResult(CMD_ERR_NO_JOB, f"unknown({app}/jid{job_id})")
    ctx = svc.run_table.get(status.key)
    down, up = status.estimated_bytes()
    values = {
        "estimated-download": ctx.estimated_download_bytes if ctx else down,
        "estimated-upload": ctx.estimated_upload_bytes if ctx else up,
        "transferred-download": ctx.transferred_download_bytes if ctx else 0,
        "transferred-upload": ctx.transferred_upload_bytes if ctx else 0,
    }
    if kind not in values:
        return CmdResult(-1, error=f"Error: unknown option '{kind}'")
    return CmdResult(0, str(values[kind]))


class ShellCommands:
    """The verbs of ``cmd jobscheduler`` on one core (``service.commands``), named as the verbs.

    A facet of the core rather than part of it: the shell (``uidt cmd``) calls each verb, each one
    of the functions above. The daemon's graceful stop uses two of them as well: ``stop`` of every
    running job, and :meth:`system_stopping`, which no shell verb reaches.
    """

    def __init__(self, core: SchedulerCore) -> None:
        self._core = core

    def system_stopping(self) -> None:
        """The daemon is stopping: start nothing more, and let every job say why it waits.

        Jobs that become ready from now on (newly scheduled, or a stopped run rescheduled) stay
        ``pending`` with the reason ``SYSTEM_STOPPING`` instead of reading ``active`` for a run
        the daemon will not bind. Runs under way are left to the graceful stop (:meth:`stop`).
        Android has no such moment (its scheduler stops with the device); the nearest rule is
        ``JobServiceContext``'s: a job whose binding fails is not counted as running.
        """
        core = self._core
        if core.stopping:
            return
        core.stopping = True
        with core.batch():  # one check pass re-evaluates every job
            core.dirty.add_all()

    def run(
        self,
        app: str,
        namespace: str | None,
        job_id: int,
        *,
        force: bool = False,
        satisfied: bool = False,
    ) -> CmdResult:
        """``cmd run [-f|-s]`` (may be deferred; see the module docstring)."""
        return cmd_run(self._core, app, namespace, job_id, force=force, satisfied=satisfied)

    def stop(
        self,
        app: str | None = None,
        namespace: str | None = None,
        job_id: int | None = None,
        *,
        stop_reason: int = StopReason.USER,
        internal_reason: int = InternalStopReason.UNKNOWN,
    ) -> CmdResult:
        """``cmd stop [-s R] [-i IR]``."""
        return cmd_stop(
            self._core,
            app,
            namespace,
            job_id,
            stop_reason=stop_reason,
            internal_reason=internal_reason,
        )

    def timeout(
        self, app: str | None = None, namespace: str | None = None, job_id: int | None = None
    ) -> CmdResult:
        """``cmd timeout``."""
        return cmd_timeout(self._core, app, namespace, job_id)

    def cancel(
        self, app: str, namespace: str | None = None, job_id: int | None = None
    ) -> CmdResult:
        """``cmd cancel``."""
        return cmd_cancel(self._core, app, namespace, job_id)

    def get_job_state(self, app: str, namespace: str | None, job_id: int) -> CmdResult:
        """``cmd get-job-state``."""
        return cmd_get_job_state(self._core, app, namespace, job_id)

    def get_bytes(self, kind: str, app: str, namespace: str | None, job_id: int) -> CmdResult:
        """``cmd get-{estimated,transferred}-{download,upload}-bytes``; ``kind`` is e.g.
        ``estimated-download``."""
        return cmd_get_bytes(self._core, app, namespace, job_id, kind=kind)

    def get_estimated_download_bytes(
        self, app: str, namespace: str | None, job_id: int
    ) -> CmdResult:
        """``cmd get-estimated-download-bytes``."""
        return self.get_bytes("estimated-download", app, namespace, job_id)

    def get_estimated_upload_bytes(self, app: str, namespace: str | None, job_id: int) -> CmdResult:
        """``cmd get-estimated-upload-bytes``."""
        return self.get_bytes("estimated-upload", app, namespace, job_id)

    def get_transferred_download_bytes(
        self, app: str, namespace: str | None, job_id: int
    ) -> CmdResult:
        """``cmd get-transferred-download-bytes``."""
        return self.get_bytes("transferred-download", app, namespace, job_id)

    def get_transferred_upload_bytes(
        self, app: str, namespace: str | None, job_id: int
    ) -> CmdResult:
        """``cmd get-transferred-upload-bytes``."""
        return self.get_bytes("transferred-upload", app, namespace, job_id)

    def get_battery_charging(self) -> CmdResult:
        """``cmd get-battery-charging``."""
        return CmdResult(0, str(self._core.device.charging).lower())

    def get_battery_not_low(self) -> CmdResult:
        """``cmd get-battery-not-low``."""
        return CmdResult(0, str(self._core.device.battery_not_low).lower())

    def get_storage_not_low(self) -> CmdResult:
        """``cmd get-storage-not-low``."""
        return CmdResult(0, str(not self._core.device.storage_low).lower())

    def reset_execution_quota(self, app: str) -> CmdResult:
        """``cmd reset-execution-quota PKG``: forget the app's UIJ timeouts."""
        self._core.timeout_quota.reset(app)
        return CmdResult(0)

"""``JobScheduler``: an app's handle on the user's uidt daemon (Android's ``JobScheduler``).

Every call is one request to the daemon over its private Unix socket. The daemon learns from the
socket who is calling (``SO_PEERCRED``) and whether that process is visible to the user; GUI apps
say so themselves with :meth:`JobScheduler.activity`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from uidt.app.connection import DaemonConnection, app_path
from uidt.errors import DaemonError, InvalidJobError
from uidt.home.paths import resolve_paths
from uidt.job.info import JobInfo
from uidt.job.namespace import validate_namespace
from uidt.job.reasons import PendingReason
from uidt.job.work import JobWorkItem


class JobScheduler:
    """Schedule, inspect and cancel an app's jobs.

    Args:
        app: the app's package name, as in its installed manifest.
        namespace: the job namespace; ``None`` is the default one.
        home: the daemon's home directory (default: ``UIDT_HOME`` or the XDG locations).
        fallback: ``"foreground"`` to run jobs in this process when no daemon can be had.
    """

    RESULT_SUCCESS = 1
    RESULT_FAILURE = 0

    def __init__(
        self,
        app: str,
        *,
        namespace: str | None = None,
        home: str | os.PathLike[str] | None = None,
        fallback: str | None = None,
        _connection: DaemonConnection | None = None,
    ) -> None:
        if fallback not in (None, "foreground"):
            raise InvalidJobError(f"fallback must be None or 'foreground', not {fallback!r}")
        self.app = app
        self.namespace = validate_namespace(namespace)
        self.fallback = fallback
        self._home = home
        self._conn = _connection or DaemonConnection(resolve_paths(home))

    # -- helpers -------------------------------------------------------------------------------

    def _call(self, method: str, *path: str | int, body: Any = None, **query: Any) -> Any:
        return self._conn.request(method, app_path(self.app, *path), body=body, query=query)

    def for_namespace(self, namespace: str) -> JobScheduler:
        """A scheduler for the same app in another namespace."""
        return JobScheduler(
            self.app,
            namespace=validate_namespace(namespace),
            home=self._home,
            fallback=self.fallback,
            _connection=self._conn,
        )

    # -- scheduling ----------------------------------------------------------------------------

    def schedule(self, job: JobInfo) -> int:
        """Schedule ``job``; ``RESULT_SUCCESS`` or ``RESULT_FAILURE`` (or an exception, as Android).

        With ``fallback="foreground"`` and no daemon to be had, the job's service runs in this
        process instead (blocking until it finishes), and the call says so on stderr.
        """
        body = {"namespace": self.namespace, "job": job.to_dict()}
        try:
            return int(self._call("POST", "jobs", body=body)["result"])
        except DaemonError as exc:
            if self.fallback != "foreground":
                raise
            return self._run_in_foreground(job, exc)

    def _run_in_foreground(self, job: JobInfo, why: DaemonError) -> int:
        import asyncio
        import sys

        from uidt.app.fallback import run_service

        print(f"uidt: {why}", file=sys.stderr)
        asyncio.run(run_service(None, job))
        return self.RESULT_SUCCESS

    def enqueue(self, job: JobInfo, work: JobWorkItem) -> int:
        """Schedule ``job`` with a work item (appended if an equal job is already scheduled)."""
        body = {"namespace": self.namespace, "job": job.to_dict(), "work": work.to_dict()}
        return int(self._call("POST", "jobs", body=body)["result"])

    def cancel(self, job_id: int) -> None:
        self._call("DELETE", "jobs", job_id, namespace=self.namespace)

    def cancel_all(self) -> None:
        """Cancel every job of this namespace."""
        self._call("DELETE", "jobs", namespace=self.namespace)

    def cancel_in_all_namespaces(self) -> None:
        self._call("DELETE", "jobs", all_namespaces=True)

    def update_constraints(self, job_id: int, **changes: Any) -> None:
        """Change constraints of a scheduled job without losing its transfer state (docs/android-semantics.md#beyond-android)."""
        self._call("PATCH", "jobs", job_id, "constraints", body=changes, namespace=self.namespace)

    # -- queries -------------------------------------------------------------------------------

    def get_pending_job(self, job_id: int) -> JobInfo | None:
        data = self._call("GET", "jobs", job_id, namespace=self.namespace)
        job = data.get("job")
        return None if job is None else JobInfo.from_dict(job)

    def get_all_pending_jobs(self) -> list[JobInfo]:
        data = self._call("GET", "jobs", namespace=self.namespace)
        return [JobInfo.from_dict(j) for j in data["jobs"]]

    def get_pending_jobs_in_all_namespaces(self) -> dict[str | None, list[JobInfo]]:
        data = self._call("GET", "jobs", all_namespaces=True)
        result: dict[str | None, list[JobInfo]] = {}
        for entry in data["namespaces"]:
            result[entry["namespace"]] = [JobInfo.from_dict(j) for j in entry["jobs"]]
        return result

    def get_pending_job_reason(self, job_id: int) -> PendingReason:
        data = self._call("GET", "jobs", job_id, "reasons", namespace=self.namespace)
        reasons = data["reasons"]
        return PendingReason(reasons[0]) if reasons else PendingReason.UNDEFINED

    def get_pending_job_reasons(self, job_id: int) -> list[PendingReason]:
        data = self._call("GET", "jobs", job_id, "reasons", namespace=self.namespace)
        return [PendingReason(r) for r in data["reasons"]]

    def get_pending_job_reasons_history(self, job_id: int) -> list[tuple[int, list[PendingReason]]]:
        data = self._call("GET", "jobs", job_id, "reasons", namespace=self.namespace)
        return [(int(t), [PendingReason(r) for r in rs]) for t, rs in data["history"]]

    def can_run_user_initiated_jobs(self) -> bool:
        return bool(self._call("GET", "can-run-user-initiated-jobs")["result"])

    # -- visibility ----------------------------------------------------------------------------

    @contextmanager
    def activity(self) -> Iterator[None]:
        """While open, the app is visible (a GUI app shows a window), as Android's TOP state."""
        token = self._call("POST", "activities")["token"]
        try:
            yield
        finally:
            # A daemon that went away (killed, restarted) took the activity with it: its
            # visibility state lives in its memory. Ending it then is nothing to report, and
            # no reason to start a daemon (one stopped on purpose stays stopped).
            with suppress(DaemonError):
                self._quiet().request("DELETE", app_path(self.app, "activities", token))

    def _quiet(self) -> DaemonConnection:
        """This scheduler's connection, but never starting a daemon."""
        conn = self._conn
        if isinstance(conn, DaemonConnection) and conn.autostart:
            return DaemonConnection(conn.paths, autostart=False, timeout=conn.timeout)
        return conn

    def close(self) -> None:
        """Nothing is held between calls; kept for symmetry with ``AsyncJobScheduler``."""

    def __enter__(self) -> JobScheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

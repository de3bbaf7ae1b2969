"""``AsyncJobScheduler``: the same methods as :class:`~uidt.app.scheduler.JobScheduler`, as coroutines.

Each call runs the blocking client in a worker thread, so an asyncio app never blocks its loop on
the daemon; the requests are small and local, so one code path serves both colours.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from uidt.app.scheduler import JobScheduler
from uidt.job.info import JobInfo
from uidt.job.reasons import PendingReason
from uidt.job.work import JobWorkItem


class AsyncJobScheduler:
    """Async twin of :class:`~uidt.app.scheduler.JobScheduler`: the same methods, as coroutines.

    Args:
        app: the app's package name, as in its installed manifest.
        namespace: the job namespace; ``None`` is the default one.
        home: the daemon's home directory (default: ``UIDT_HOME`` or the XDG locations).
        fallback: ``"foreground"`` to run jobs in this process when no daemon can be had.

    The scheduler and :meth:`activity` are ``async with`` context managers::

        async with AsyncJobScheduler("org.example.photos") as scheduler, scheduler.activity():
            result = await scheduler.schedule(job)
    """

    RESULT_SUCCESS = JobScheduler.RESULT_SUCCESS
    RESULT_FAILURE = JobScheduler.RESULT_FAILURE

    def __init__(
        self,
        app: str,
        *,
        namespace: str | None = None,
        home: str | os.PathLike[str] | None = None,
        fallback: str | None = None,
        _sync: JobScheduler | None = None,
    ) -> None:
        self._sync = _sync or JobScheduler(app, namespace=namespace, home=home, fallback=fallback)

    @property
    def app(self) -> str:
        return self._sync.app

    @property
    def namespace(self) -> str | None:
        return self._sync.namespace

    def for_namespace(self, namespace: str) -> AsyncJobScheduler:
        return AsyncJobScheduler(self.app, _sync=self._sync.for_namespace(namespace))

    async def _run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self._sync, name), *args, **kwargs)

    async def schedule(self, job: JobInfo) -> int:
        return int(await self._run("schedule", job))

    async def enqueue(self, job: JobInfo, work: JobWorkItem) -> int:
        return int(await self._run("enqueue", job, work))

    async def cancel(self, job_id: int) -> None:
        await self._run("cancel", job_id)

    async def cancel_all(self) -> None:
        await self._run("cancel_all")

    async def cancel_in_all_namespaces(self) -> None:
        await self._run("cancel_in_all_namespaces")

    async def update_constraints(self, job_id: int, **changes: Any) -> None:
        await self._run("update_constraints", job_id, **changes)

    async def get_pending_job(self, job_id: int) -> JobInfo | None:
        result: JobInfo | None = await self._run("get_pending_job", job_id)
        return result

    async def get_all_pending_jobs(self) -> list[JobInfo]:
        result: list[JobInfo] = await self._run("get_all_pending_jobs")
        return result

    async def get_pending_jobs_in_all_namespaces(self) -> dict[str | None, list[JobInfo]]:
        result: dict[str | None, list[JobInfo]] = await self._run(
            "get_pending_jobs_in_all_namespaces"
        )
        return result

    async def get_pending_job_reason(self, job_id: int) -> PendingReason:
        return PendingReason(await self._run("get_pending_job_reason", job_id))

    async def get_pending_job_reasons(self, job_id: int) -> list[PendingReason]:
        result: list[PendingReason] = await self._run("get_pending_job_reasons", job_id)
        return result

    async def get_pending_job_reasons_history(
        self, job_id: int
    ) -> list[tuple[int, list[PendingReason]]]:
        result: list[tuple[int, list[PendingReason]]] = await self._run(
            "get_pending_job_reasons_history", job_id
        )
        return result

    async def can_run_user_initiated_jobs(self) -> bool:
        return bool(await self._run("can_run_user_initiated_jobs"))

    @asynccontextmanager
    async def activity(self) -> AsyncIterator[None]:
        manager = self._sync.activity()
        await asyncio.to_thread(manager.__enter__)
        try:
            yield
        finally:
            await asyncio.to_thread(manager.__exit__, None, None, None)

    async def close(self) -> None:
        self._sync.close()

    async def __aenter__(self) -> AsyncJobScheduler:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

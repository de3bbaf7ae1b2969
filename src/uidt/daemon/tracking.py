"""A schedule request's answer beyond Android's result: the generation to follow, attach, replace.

``POST /v1/apps/{app}/jobs`` answers ``{"result", "generation", "attached", "replaced"}``:
``generation`` names the scheduling the caller made (or attached to), so a client that follows
it (``uidt download --wait``) never mistakes an earlier run under the same job id for its own;
``replaced`` is the generation and ``JobInfo`` of the job the new one replaced (``null`` when
none). With ``"attach": true`` in the body and the *same* job (equal ``JobInfo``) already
scheduled and still to run, nothing is replaced: the answer names that job's generation with
``"attached": true`` (:func:`uidt.server.identity.attachable`).

Requests for one job key are taken one at a time: the job is stored before the core takes it
in, so while one request waits for that commit a second one for the same job would find no job
to attach to and schedule it again, replacing the first (whose follower would then read
"cancelled" although its download goes on). Requests for other jobs do not wait.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from uidt.daemon.scheduling import schedule_durably
from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.job.work import JobWorkItem
from uidt.server.identity import attachable

if TYPE_CHECKING:
    from uidt.daemon.runtime import Runtime

RESULT_SUCCESS = 1


async def schedule_tracked(
    rt: Runtime,
    app: str,
    namespace: str | None,
    job: JobInfo,
    work: JobWorkItem | None,
    *,
    peer_pid: int | None,
    attach: bool,
) -> dict[str, Any]:
    """Schedule (or attach to) ``job``; the answer of the schedule request.

    The job is stored before the core takes it in (:func:`schedule_durably`): a store
    error raised here means nothing was scheduled and nothing replaced."""
    rt.apps.require(app)
    key = JobKey(app, namespace, job.job_id)
    async with rt.schedule_locks.hold(key):
        return await _schedule_tracked(rt, key, job, work, peer_pid=peer_pid, attach=attach)


async def _schedule_tracked(
    rt: Runtime,
    key: JobKey,
    job: JobInfo,
    work: JobWorkItem | None,
    *,
    peer_pid: int | None,
    attach: bool,
) -> dict[str, Any]:
    app, namespace = key.app, key.namespace
    if attach and work is None:
        same = attachable(rt.service, key, job)
        if same is not None:
            return {
                "result": RESULT_SUCCESS,
                "generation": same.generation,
                "attached": True,
                "replaced": None,
            }
    before = rt.service.jobs.get(key)
    result = await schedule_durably(rt, app, namespace, job, work, peer_pid=peer_pid)
    after = rt.service.jobs.get(key)
    replaced = None
    if before is not None and after is not None and before is not after:
        replaced = {"generation": before.generation, "job": before.job.to_dict()}
    return {
        "result": result,
        "generation": after.generation if result == RESULT_SUCCESS and after else None,
        "attached": False,
        "replaced": replaced,
    }

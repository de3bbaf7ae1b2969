"""``TransferActions``: the built-in transfer app's notification receiver (Pause, Resume, Cancel).

The app's manifest names it (``notification_receiver``), so a click on a transfer's notification
button (the Task Manager page, a desktop notification, ``uidt notification click``, or
``uidt pause|resume|cancel JOB``) arrives here, in the app's worker, beside the running transfers:

* **Pause** (a running transfer): the transfer task is stopped (the engine commits its checkpoint,
  the part file stays), the job is kept (:mod:`uidt.transfers.paused`), the notification says
  "paused" with Resume and Cancel, and the job ends with ``job_ended_incomplete(params,
  Incomplete.PAUSED, "paused at …")``. The job reads ``finished`` (the spec's states are fixed)
  and never completed: its ended record in ``uidt jobs --all --json`` says ``"completed": false``
  and ``"incomplete": {"how": "paused", …}`` with the bytes moved so far.
* **Resume** (a paused transfer): the kept job is scheduled again (the click's user-interaction
  grant lets the app schedule a user-initiated job from the background); it resumes from the
  checkpoint, so no byte the part file holds is asked for again.
* **Cancel** (running, paused, or waiting for its backoff after a run that gave up: that
  notification has the button too): the transfer stops, the job is cancelled (it reads
  ``cancelled``), what it left is removed (:mod:`uidt.transfers.leftovers`: a download's part
  file, checkpoint and retry count; an upload's resumable state and retry count, never its
  source, and its tus upload on a server that offers termination; only regular files of this
  user: a link or another user's file planted there is left alone), and the notification goes.

A click for a transfer that has just finished is refused before it gets here: its final
notification has no buttons (the daemon checks the action), so a finished job stays finished.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uidt.app.notifications import NotificationManager
from uidt.app.receiver import NotificationActionReceiver
from uidt.app.scheduler import JobScheduler
from uidt.transfers import paused
from uidt.transfers.leftovers import clean_up
from uidt.transfers.names import TRANSFERS_APP
from uidt.transfers.running import RUNNING

log = logging.getLogger("uidt.transfers")


class TransferActions(NotificationActionReceiver):
    """Pause, Resume and Cancel of the transfer whose notification was clicked (id = job id)."""

    async def on_notification_action(
        self, notification_id: int, action_id: str, params: dict[str, Any]
    ) -> None:
        job_id = notification_id
        if action_id == "pause":
            await pause(job_id)
        elif action_id == "resume":
            await resume(job_id)
        elif action_id == "cancel":
            await cancel(job_id)
        else:
            log.warning("unknown transfer action %r on job %d", action_id, job_id)


async def pause(job_id: int) -> bool:
    """Pause the running transfer ``job_id``; ``False`` when none runs here (it had ended)."""
    if job_id not in RUNNING:
        log.info("nothing to pause: job %d is not running", job_id)
        return False
    job = await asyncio.to_thread(JobScheduler(TRANSFERS_APP).get_pending_job, job_id)
    entry = RUNNING.get(job_id)
    if job is None or entry is None:  # it ended meanwhile: it stays as it ended
        log.info("nothing to pause: job %d ended", job_id)
        return False
    paused.save(job)
    if not await entry.service.stop_transfer(job_id):
        paused.forget(job_id)
        return False
    entry.service.paused(entry.params, entry.report)
    log.info("paused job %d", job_id)
    return True


async def resume(job_id: int) -> bool:
    """Schedule the paused job ``job_id`` again; ``False`` when it is not paused."""
    job = paused.load(job_id)
    if job is None:
        log.info("nothing to resume: job %d is not paused", job_id)
        return False
    result = await asyncio.to_thread(JobScheduler(TRANSFERS_APP).schedule, job)
    if result != JobScheduler.RESULT_SUCCESS:
        log.warning("could not resume job %d: the scheduler refused it", job_id)
        return False
    paused.forget(job_id)
    log.info("resumed job %d", job_id)
    return True


async def cancel(job_id: int) -> bool:
    """Cancel the running, paused or waiting transfer ``job_id`` and remove what it left."""
    entry = RUNNING.get(job_id)
    kept = paused.load(job_id)
    scheduler = JobScheduler(TRANSFERS_APP)
    if entry is not None:
        extras = entry.params.extras
        await entry.service.stop_transfer(job_id)
        await asyncio.to_thread(scheduler.cancel, job_id)
    elif kept is not None:
        extras = kept.extras
    else:
        waiting = await asyncio.to_thread(scheduler.get_pending_job, job_id)
        if waiting is None:
            log.info("nothing to cancel: job %d is not running, paused or waiting", job_id)
            return False
        extras = dict(waiting.extras)
        await asyncio.to_thread(scheduler.cancel, job_id)  # a run that starts now is stopped
    paused.forget(job_id)
    await clean_up(extras)
    await asyncio.to_thread(NotificationManager(TRANSFERS_APP).cancel, job_id)
    log.info("cancelled job %d", job_id)
    return True

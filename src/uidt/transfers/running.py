"""The transfers running in one worker, by job id.

The notification receiver pauses and cancels them here (it runs in the same worker, on the same
loop), and a run that finds its destination's part file locked looks here for another job of
this worker writing the same destination (:meth:`~uidt.transfers.service._TransferService`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from uidt.job.params import JobParameters

if TYPE_CHECKING:
    from uidt.transfers.reporting import Reporter
    from uidt.transfers.service import _TransferService


class Running:
    """A transfer running in this worker: its service, parameters and reporter."""

    def __init__(self, service: _TransferService, params: JobParameters, report: Reporter):
        self.service = service
        self.params = params
        self.report = report


#: The transfers running in this worker, by job id.
RUNNING: dict[int, Running] = {}


def other_writer(params: JobParameters) -> int | None:
    """The id of another job running in this worker into the destination of ``params``."""
    dest = params.extras.get("dest")
    if not dest:
        return None
    mine = Path(str(dest)).absolute()
    for job_id, entry in RUNNING.items():
        theirs = entry.params.extras.get("dest")
        if job_id != params.job_id and theirs and Path(str(theirs)).absolute() == mine:
            return job_id
    return None

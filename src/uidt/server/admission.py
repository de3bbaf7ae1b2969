"""Admission checks of ``schedule()`` / ``enqueue()`` in Android's order (docs/android-semantics.md#admission).

Each check either passes, raises (``ValueError`` / ``PermissionError`` flavours of
:class:`uidt.errors.UidtError`) or returns ``RESULT_FAILURE``.
"""

from __future__ import annotations

from uidt.errors import InvalidJobError, JobPermissionError
from uidt.job.info import JobInfo
from uidt.job.validation import enforce_validity
from uidt.job.work import JobWorkItem
from uidt.server.apps import (
    BIND_JOB_SERVICE,
    RECEIVE_BOOT_COMPLETED,
    RUN_USER_INITIATED_JOBS,
    AppInfo,
)

RESULT_FAILURE = 0
RESULT_SUCCESS = 1


def enforce_valid_job_request(app: AppInfo | None, package: str, job: JobInfo) -> AppInfo:
    """Component and permission checks (``enforceValidJobRequest``).

    Raises:
        InvalidJobError: unknown app or service, service not guarded by BIND_JOB_SERVICE,
            persisted job without RECEIVE_BOOT_COMPLETED.
    """
    if app is None or job.service not in app.services:
        raise InvalidJobError(
            f"Tried to schedule job for non-existent component: {package}/{job.service}"
        )
    if app.services[job.service] != BIND_JOB_SERVICE:
        raise InvalidJobError(
            f"Scheduled service {package}/{job.service} does not require "
            f"{BIND_JOB_SERVICE} permission"
        )
    if job.is_persisted() and RECEIVE_BOOT_COMPLETED not in app.permissions:
        raise InvalidJobError(
            "Error: requested job be persisted without holding RECEIVE_BOOT_COMPLETED permission."
        )
    return app


def validate_job(app: AppInfo, job: JobInfo, work: JobWorkItem | None) -> bool:
    """``validateJob``: builder rules again, the UIJ permission, the work item.

    Returns:
        ``False`` when the app-op was revoked (the caller returns ``RESULT_FAILURE``).

    Raises:
        InvalidJobError: a builder rule or a work-item rule is broken.
        JobPermissionError: a user-initiated job without RUN_USER_INITIATED_JOBS declared.
    """
    enforce_validity(job)
    if work is not None:
        work.enforce_validity()
        if work.has_network_estimates and job.required_network is None:
            raise InvalidJobError(
                "Can't provide estimated network usage without requiring a network"
            )
    if job.is_user_initiated():
        if RUN_USER_INITIATED_JOBS not in app.permissions:
            raise JobPermissionError(
                f"{RUN_USER_INITIATED_JOBS} required to schedule user-initiated jobs."
            )
        if RUN_USER_INITIATED_JOBS in app.revoked:
            return False
    return True

"""``JobInfo`` validation: every check of ``JobInfo.enforceValidity`` in Android's order (docs/android-semantics.md#job-validation).

Every failure raises :class:`uidt.errors.InvalidJobError` (a ``ValueError``) naming the rule broken.
uidt behaves as an app targeting the newest Android, so the target-gated checks all apply; the
"time window too short" rule (11) is only a warning on Android without a server flag and is not
enforced here either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.errors import InvalidJobError
from uidt.job.priority import Priority

if TYPE_CHECKING:
    from uidt.job.info import JobInfo

UNKNOWN = -1
MAX_DEBUG_TAGS = 32
MAX_TAG_LENGTH = 127


def _estimated_total(download: int, upload: int) -> int:
    if upload == UNKNOWN:
        return download
    return upload + (0 if download == UNKNOWN else download)


def enforce_validity(job: JobInfo) -> None:
    """Raise ``InvalidJobError`` if ``job`` breaks any of Android's builder rules."""
    # 1. backoff with an idle constraint
    if job.has_backoff_criteria and job.requires_device_idle:
        raise InvalidJobError(
            "An idle mode job will not respect any back-off policy, so calling "
            "set_backoff_criteria with set_requires_device_idle is an error."
        )
    download = job.estimated_network_download_bytes
    upload = job.estimated_network_upload_bytes
    chunk = job.minimum_network_chunk_bytes
    has_network = job.required_network is not None
    # 2. estimates without a network
    if (download > 0 or upload > 0 or chunk > 0) and not has_network:
        raise InvalidJobError("Can't provide estimated network usage without requiring a network")
    # 3. negative estimates
    if has_network:
        if upload < 0 and upload != UNKNOWN:
            raise InvalidJobError(f"Invalid network upload bytes: {upload}")
        if download < 0 and download != UNKNOWN:
            raise InvalidJobError(f"Invalid network download bytes: {download}")
    # 4. chunk larger than the estimate
    estimated = _estimated_total(download, upload)
    if chunk != UNKNOWN and estimated != UNKNOWN and chunk > estimated:
        raise InvalidJobError("Minimum chunk size can't be greater than estimated network usage")
    # 5. chunk must be positive
    if chunk != UNKNOWN and chunk <= 0:
        raise InvalidJobError("Minimum chunk size must be positive")
    # 6. negative delays
    if job.min_latency_millis < 0:
        raise InvalidJobError("Minimum latency is negative")
    if job.override_deadline_millis < 0:
        raise InvalidJobError("Override deadline is negative")
    # 7. periodic
    if job.is_periodic:
        if job.override_deadline_millis != 0:
            raise InvalidJobError("Can't call set_override_deadline() on a periodic job.")
        if job.min_latency_millis != 0:
            raise InvalidJobError("Can't call set_minimum_latency() on a periodic job")
        if job.trigger_content_uris:
            raise InvalidJobError("Can't call add_trigger_content_uri() on a periodic job")
    # 8. prefetch with a deadline (Android tests the deadline value, so periodic prefetch is fine)
    if job.is_prefetch and job.override_deadline_millis != 0:
        raise InvalidJobError("Can't call set_override_deadline() on a prefetch job.")
    # 9. persisted
    if job.is_persisted():
        if job.trigger_content_uris:
            raise InvalidJobError("Can't call add_trigger_content_uri() on a persisted job")
        if job.transient_extras:
            raise InvalidJobError("Can't call set_transient_extras() on a persisted job")
        if job.clip_data is not None:
            raise InvalidJobError("Can't call set_clip_data() on a persisted job")
    # 10. priority
    _check_priority(job)
    # 12. expedited
    if job.is_expedited:
        _check_expedited(job)
    # 13. user-initiated
    if job.is_user_initiated():
        _check_user_initiated(job)
    # 14. debug tags and trace tag
    _check_tags(job)


def _check_priority(job: JobInfo) -> None:
    priority = job.priority
    if priority == Priority.MAX:
        if not (job.is_expedited or job.is_user_initiated()):
            raise InvalidJobError("Only expedited or user-initiated jobs can have max priority")
    elif priority == Priority.HIGH:
        if job.is_prefetch:
            raise InvalidJobError("Prefetch jobs cannot be high priority")
        if job.is_periodic:
            raise InvalidJobError("Periodic jobs cannot be high priority")
    elif priority not in (Priority.DEFAULT, Priority.LOW, Priority.MIN):
        raise InvalidJobError(f"Invalid priority level provided: {priority}")


def _check_expedited(job: JobInfo) -> None:
    if job.has_early_constraint:
        raise InvalidJobError("An expedited job cannot have a time delay")
    if job.has_late_constraint:
        raise InvalidJobError("An expedited job cannot have a deadline")
    if job.is_periodic:
        raise InvalidJobError("An expedited job cannot be periodic")
    if job.is_user_initiated():
        raise InvalidJobError("An expedited job cannot be user-initiated")
    if job.priority not in (Priority.MAX, Priority.HIGH):
        raise InvalidJobError(
            "An expedited job must be high or max priority. "
            "Don't use expedited jobs for unimportant tasks."
        )
    if (
        job.requires_charging
        or job.requires_battery_not_low
        or job.requires_device_idle
        or job.is_prefetch
    ):
        raise InvalidJobError(
            "An expedited job can only have network and storage-not-low constraints"
        )
    if job.trigger_content_uris:
        raise InvalidJobError("Can't call add_trigger_content_uri() on an expedited job")


def _check_user_initiated(job: JobInfo) -> None:
    if job.has_early_constraint:
        raise InvalidJobError("A user-initiated job cannot have a time delay")
    if job.has_late_constraint:
        raise InvalidJobError("A user-initiated job cannot have a deadline")
    if job.is_periodic:
        raise InvalidJobError("A user-initiated job cannot be periodic")
    if job.is_prefetch:
        raise InvalidJobError("A user-initiated job cannot also be a prefetch job")
    if job.priority != Priority.MAX:
        raise InvalidJobError("A user-initiated job must be max priority.")
    if job.requires_device_idle:
        raise InvalidJobError("A user-initiated job cannot have a device-idle constraint")
    if job.trigger_content_uris:
        raise InvalidJobError("Can't call add_trigger_content_uri() on a user-initiated job")
    if job.required_network is None:
        raise InvalidJobError(
            "A user-initiated data transfer job must specify a valid network type"
        )


def _check_tags(job: JobInfo) -> None:
    if len(job.debug_tags) > MAX_DEBUG_TAGS:
        raise InvalidJobError(f"Can't have more than {MAX_DEBUG_TAGS} debug tags")
    for tag in job.debug_tags:
        _check_tag(tag, "debug tag")
    if job.trace_tag is not None:
        _check_tag(job.trace_tag, "trace tag")
        if any(ch in job.trace_tag for ch in "|\n\0"):
            raise InvalidJobError("trace tag cannot contain '|', '\\n' or '\\0'")


def _check_tag(tag: str, what: str) -> None:
    stripped = tag.strip()
    if not stripped:
        raise InvalidJobError(f"{what} cannot be empty")
    if len(stripped) > MAX_TAG_LENGTH:
        raise InvalidJobError(f"{what} must be at most {MAX_TAG_LENGTH} characters")

"""JSON encoding of store records, shared by every store that keeps records as text.

The encoding is plain JSON objects with sorted keys; a job's ``JobInfo`` goes through
``JobInfo.to_dict()`` / ``JobInfo.from_dict()`` so that it is re-validated when read back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from uidt.errors import InvalidJobError, StoreCorruptError
from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.store.record import AppRecord, JobRecord, NotificationRecord

_JOB_SCALARS = (
    "enqueue_time_utc_ms",
    "num_failures",
    "num_system_stops",
    "cumulative_runtime_ms",
    "internal_flags",
    "earliest_run_time_utc_ms",
    "last_stop_reason",
    "last_internal_stop_reason",
    "last_successful_run_utc_ms",
    "last_failed_run_utc_ms",
)


def _job_defaults() -> dict[str, Any]:
    """``to_dict()`` of a job built from nothing but its identity: what ``from_dict`` fills in."""
    defaults = JobInfo.from_dict({"job_id": 0, "service": "m:C"}).to_dict()
    del defaults["job_id"], defaults["service"]
    return defaults


_JOB_DEFAULTS = _job_defaults()


def job_to_compact_dict(job: JobInfo) -> dict[str, Any]:
    """``job.to_dict()`` without the fields that equal what ``JobInfo.from_dict`` fills in.

    Keeps records small and makes loading faster; ``JobInfo.from_dict`` of the result equals
    ``job``.
    """
    return {
        name: value
        for name, value in job.to_dict().items()
        if name not in _JOB_DEFAULTS or _JOB_DEFAULTS[name] != value
    }


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def key_to_list(key: JobKey) -> list[Any]:
    """``[app, namespace, job_id]``."""
    return [key.app, key.namespace, key.job_id]


def key_from_list(data: Any) -> JobKey:
    """Inverse of :func:`key_to_list`.

    Raises:
        InvalidJobError: ``data`` is not ``[str, str | None, int]``.
    """
    if (
        not isinstance(data, list)
        or len(data) != 3
        or not isinstance(data[0], str)
        or not (data[1] is None or isinstance(data[1], str))
        or not isinstance(data[2], int)
    ):
        raise InvalidJobError(f"not a job key: {data!r}")
    return JobKey(data[0], data[1], data[2])


def job_record_to_json(record: JobRecord) -> str:
    """Encode a job record as a JSON text."""
    data: dict[str, Any] = {name: getattr(record, name) for name in _JOB_SCALARS}
    data["key"] = key_to_list(record.key)
    data["job"] = job_to_compact_dict(record.job)
    data["history"] = record.history
    data["work_items"] = record.work_items
    data["extra"] = record.extra
    return _dumps(data)


def job_record_from_json(text: str) -> JobRecord:
    """Decode :func:`job_record_to_json` output.

    Raises:
        InvalidJobError: the text is not a valid encoded job record.
    """
    try:
        data = json.loads(text)
        return JobRecord(
            key=key_from_list(data["key"]),
            job=JobInfo.from_dict(data["job"]),
            history=list(data["history"]),
            work_items=list(data["work_items"]),
            extra=dict(data["extra"]),
            **{name: data[name] for name in _JOB_SCALARS},
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidJobError(f"unreadable job record: {exc}") from exc


def app_record_to_json(record: AppRecord) -> str:
    """Encode an app record as a JSON text."""
    return _dumps(
        {
            "package": record.package,
            "manifest": record.manifest,
            "granted": sorted(record.granted),
            "revoked": sorted(record.revoked),
            "installed_utc_ms": record.installed_utc_ms,
            "channels": dict(sorted(record.channels.items())),
        }
    )


def app_record_from_json(text: str) -> AppRecord:
    """Decode :func:`app_record_to_json` output.

    Raises:
        InvalidJobError: the text is not a valid encoded app record.
    """
    try:
        data = json.loads(text)
        return AppRecord(
            package=str(data["package"]),
            manifest=dict(data["manifest"]),
            granted=frozenset(data["granted"]),
            revoked=frozenset(data["revoked"]),
            installed_utc_ms=int(data["installed_utc_ms"]),
            channels=_channels(data.get("channels", {})),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidJobError(f"unreadable app record: {exc}") from exc


def _channels(value: Any) -> dict[str, str]:
    """The created channels of an app record (absent in records written before they existed)."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"'channels' must map channel ids to names, not {value!r}")
    return dict(value)


def notification_record_to_json(record: NotificationRecord) -> str:
    """Encode a notification record as a JSON text."""
    return _dumps(
        {
            "app": record.app,
            "notification_id": record.notification_id,
            "notification": record.notification,
            "job": None if record.job is None else key_to_list(record.job),
            "user_initiated_job": record.user_initiated_job,
            "updated_utc_ms": record.updated_utc_ms,
        }
    )


def notification_record_from_json(text: str) -> NotificationRecord:
    """Decode :func:`notification_record_to_json` output.

    Raises:
        InvalidJobError: the text is not a valid encoded notification record.
    """
    try:
        data = json.loads(text)
        job = data["job"]
        return NotificationRecord(
            app=str(data["app"]),
            notification_id=int(data["notification_id"]),
            notification=dict(data["notification"]),
            job=None if job is None else key_from_list(job),
            user_initiated_job=bool(data["user_initiated_job"]),
            updated_utc_ms=int(data["updated_utc_ms"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidJobError(f"unreadable notification record: {exc}") from exc


@contextmanager
def unreadable(
    store: str, what: str, errors: tuple[type[Exception], ...] = (InvalidJobError,)
) -> Iterator[None]:
    """Decoding inside the block: ``errors`` become :class:`StoreCorruptError`, "job store
    STORE holds an unreadable WHAT: …" (``store``: the path or the redacted URL)."""
    try:
        yield
    except errors as exc:
        raise StoreCorruptError(f"job store {store} holds an unreadable {what}: {exc}") from exc

"""A ``JobInfo``'s dict form read back field by field (:meth:`JobInfo.from_dict
<uidt.job.info.JobInfo.from_dict>`): every value's type checked, each turned into the value the
frozen ``JobInfo`` holds. The rules of :mod:`uidt.job.validation` run afterwards, on the built job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from uidt.errors import InvalidJobError
from uidt.job import extras as _extras
from uidt.job.hostlabels import normalized
from uidt.job.network import NetworkRequest
from uidt.job.priority import MIN_BACKOFF_MILLIS, BackoffPolicy, Priority
from uidt.job.trigger import TriggerContentUri


def check_identity(job_id: Any, service: Any) -> None:
    """A job id that fits in 32 bits and a ``module:Class`` service name, or InvalidJobError."""
    if isinstance(job_id, bool) or not isinstance(job_id, int):
        raise InvalidJobError(f"job_id must be an int, not {type(job_id).__name__}")
    if not -(2**31) <= job_id < 2**31:
        raise InvalidJobError(f"job_id {job_id} does not fit in 32 bits")
    if not isinstance(service, str) or ":" not in service:
        raise InvalidJobError(
            f"service must be 'module:Class' of a declared service, not {service!r}"
        )


def _as_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidJobError(f"{what} must be a list")
    return list(value)


def as_int(value: Any, what: str) -> int:
    """``value`` as an int (a bool is not one), or InvalidJobError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidJobError(f"{what} must be an int, not {type(value).__name__}")
    return int(value)


def decode_fields(data: Mapping[str, Any], flag_fields: frozenset[str]) -> dict[str, Any]:
    """The keyword arguments of ``JobInfo(...)`` for ``data`` (a dict of known keys).

    ``flag_fields`` are the fields that hold ``true`` or ``false``.

    Raises:
        InvalidJobError: a value of the wrong type.
        ValueError: a priority or backoff policy that does not exist.
    """
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("extras", "transient_extras"):
            kwargs[f"{key}_json"] = _extras.freeze(value, key)
        elif key == "required_network":
            kwargs[key] = None if value is None else NetworkRequest.from_dict(value)
        elif key == "trigger_content_uris":
            kwargs[key] = tuple(decode_trigger(item) for item in _as_list(value, key))
        elif key == "debug_tags":
            tags = _as_list(value, key)
            if not all(isinstance(t, str) for t in tags):
                raise InvalidJobError("debug_tags must be strings")
            kwargs[key] = tuple(tags)
        elif key == "required_host_labels":
            kwargs[key] = normalized(_as_list(value, key))
        elif key == "priority":
            kwargs[key] = Priority(as_int(value, key))
        elif key == "initial_backoff_millis":
            # As the builder does: a hand-written dict cannot ask for less than 10 s.
            kwargs[key] = max(as_int(value, key), MIN_BACKOFF_MILLIS)
        elif key == "backoff_policy":
            kwargs[key] = BackoffPolicy(as_int(value, key))
        elif key in ("service", "clip_data", "trace_tag"):
            if value is not None and not isinstance(value, str):
                raise InvalidJobError(f"{key} must be a string")
            kwargs[key] = value
        elif key in flag_fields:
            if not isinstance(value, bool):
                raise InvalidJobError(f"{key} must be true or false")
            kwargs[key] = value
        else:
            kwargs[key] = as_int(value, key)
    return kwargs


def decode_trigger(item: Any) -> TriggerContentUri:
    """``[uri, notify_for_descendants]`` as a :class:`TriggerContentUri`."""
    if not isinstance(item, list | tuple) or len(item) != 2:
        raise InvalidJobError("a trigger content URI must be [uri, notify_for_descendants]")
    uri, descendants = item
    if not isinstance(uri, str) or not uri or not isinstance(descendants, bool):
        raise InvalidJobError("a trigger content URI must be [non-empty string, bool]")
    return TriggerContentUri(uri, descendants)

"""The daemon ↔ worker messages (protocol version 2), as typed values.

Each message is a frozen ``msgspec`` struct tagged by its ``"type"`` field; :mod:`uidt.host.protocol`
frames them. Decoding checks every field's type (``"run_id": "5"`` or a missing ``wants_to_run``
is a :class:`~uidt.errors.ProtocolError` at the frame, never a ``KeyError`` deep inside), and
unknown extra fields are ignored so that a later version can add some. See ``docs/ipc.md``.

Keep this module's imports light: the worker imports it on every cold start.
"""

from __future__ import annotations

from typing import Any

import msgspec

#: Protocol version, sent in ``hello``; the daemon refuses a worker speaking another one.
#: Version 2: typed messages, and each app call is its own message type (version 1 wrapped them
#: in ``call`` with a ``method`` and an untyped ``args`` object).
VERSION = 2


class Message(msgspec.Struct, frozen=True, tag_field="type"):
    """Base of every message (the tag is the message's ``type``)."""


# -- daemon → worker ---------------------------------------------------------------------------


class Start(Message, frozen=True, tag="start"):
    """Call ``on_start_job`` (``params`` is ``JobParameters.to_dict()``)."""

    run_id: int
    service: str
    params: dict[str, Any]


class Stop(Message, frozen=True, tag="stop"):
    """Call ``on_stop_job`` with the reasons set."""

    run_id: int
    stop_reason: int
    internal_reason: int


class NetworkChanged(Message, frozen=True, tag="network_changed"):
    """Call ``on_network_changed`` with ``params.network`` replaced."""

    run_id: int
    network: dict[str, Any] | None


class BandwidthLimit(Message, frozen=True, tag="bandwidth_limit"):
    """Set ``params.bandwidth_limit`` (the run's share of the daemon's ``bandwidth_limit`` in
    bytes per second, ``None``: no limit) and call ``on_bandwidth_limit_changed`` (uidt's
    addition, no reply). Sent after ``start`` and whenever the share changes."""

    run_id: int
    bytes_per_second: int | None


class NotificationAction(Message, frozen=True, tag="notification_action"):
    """Call the app's notification receiver (``receiver``, ``module:Class``) with a click."""

    receiver: str
    notification_id: int
    action_id: str
    params: dict[str, Any]


class Ping(Message, frozen=True, tag="ping"):
    """Heartbeat."""

    seq: int


class Reply(Message, frozen=True, tag="reply"):
    """The answer to a request (``error``: the refusal, raised in the app)."""

    request_id: int
    error: str | None = None


# -- worker → daemon ---------------------------------------------------------------------------


class Hello(Message, frozen=True, tag="hello"):
    """The worker's first frame."""

    version: int
    app: str
    pid: int


class StartResult(Message, frozen=True, tag="start_result"):
    """``on_start_job`` returned."""

    run_id: int
    wants_to_run: bool


class StopResult(Message, frozen=True, tag="stop_result"):
    """``on_stop_job`` returned (``False`` at once when the run had already ended here)."""

    run_id: int
    wants_reschedule: bool


class NetworkChangedDone(Message, frozen=True, tag="network_changed_done"):
    """``on_network_changed`` returned (or the run had already ended here)."""

    run_id: int


class JobFinished(Message, frozen=True, tag="job_finished"):
    """The app called ``job_finished`` (or ``job_failed``: ``failure`` is its reason; or
    ``job_ended_incomplete``: ``incomplete`` is how, a :class:`~uidt.job.reasons.Incomplete`
    value, and ``incomplete_reason`` its words)."""

    run_id: int
    wants_reschedule: bool
    failure: str | None = None
    incomplete: str | None = None
    incomplete_reason: str | None = None


class SetNotification(Message, frozen=True, tag="set_notification"):
    """The app called ``set_notification``; the daemon answers ``request_id`` with a ``Reply``."""

    run_id: int
    notification_id: int
    notification: dict[str, Any]
    end_policy: int
    request_id: int | None = None


class UpdateEstimatedBytes(Message, frozen=True, tag="update_estimated_bytes"):
    """The app called ``update_estimated_network_bytes``."""

    run_id: int
    download: int
    upload: int


class UpdateTransferredBytes(Message, frozen=True, tag="update_transferred_bytes"):
    """The app called ``update_transferred_network_bytes``."""

    run_id: int
    download: int
    upload: int


class Crashed(Message, frozen=True, tag="crashed"):
    """An exception escaped app code (``phase``: ``import`` or the callback's name)."""

    run_id: int
    traceback: str
    phase: str = ""
    exception_type: str = ""
    message: str = ""


class Pong(Message, frozen=True, tag="pong"):
    """Heartbeat answer."""

    seq: int


ToWorker = Start | Stop | NetworkChanged | BandwidthLimit | NotificationAction | Ping | Reply
FromWorker = (
    Hello
    | StartResult
    | StopResult
    | NetworkChangedDone
    | JobFinished
    | SetNotification
    | UpdateEstimatedBytes
    | UpdateTransferredBytes
    | Crashed
    | Pong
)

#: The app's calls into the system (``JobService._call`` method names) and their messages.
CALLS: dict[
    str, type[JobFinished | SetNotification | UpdateEstimatedBytes | UpdateTransferredBytes]
]
CALLS = {
    "job_finished": JobFinished,
    "set_notification": SetNotification,
    "update_estimated_bytes": UpdateEstimatedBytes,
    "update_transferred_bytes": UpdateTransferredBytes,
}

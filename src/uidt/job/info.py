"""``JobInfo``: an immutable, validated job description, built with ``JobInfo.Builder``.

The builder follows Android's ``JobInfo.Builder``: setters return the builder, a few check their
argument at once, and ``build()`` runs every rule of :mod:`uidt.job.validation` in Android's order.
A built ``JobInfo`` is frozen, equal and hashable by value, and round-trips through
:meth:`JobInfo.to_dict` / :meth:`JobInfo.from_dict` (which validates again, as the server does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from uidt.errors import InvalidJobError
from uidt.job import extras as _extras
from uidt.job.hostlabels import check_label, normalized
from uidt.job.infodecode import as_int, check_identity, decode_fields
from uidt.job.network import NetworkRequest, NetworkType
from uidt.job.priority import (
    DEFAULT_INITIAL_BACKOFF_MILLIS,
    MIN_BACKOFF_MILLIS,
    MIN_FLEX_MILLIS,
    MIN_PERIOD_MILLIS,
    BackoffPolicy,
    Priority,
)
from uidt.job.trigger import TriggerContentUri
from uidt.job.validation import enforce_validity

__all__ = ["UNKNOWN", "JobInfo", "TriggerContentUri"]

UNKNOWN = -1


@dataclass(frozen=True, eq=True)
class JobInfo:
    """A validated job. Build one with :class:`JobInfo.Builder`."""

    NETWORK_BYTES_UNKNOWN: ClassVar[int] = UNKNOWN

    job_id: int
    service: str
    user_initiated: bool = False
    expedited: bool = False
    prefetch: bool = False
    priority: Priority = Priority.DEFAULT
    required_network: NetworkRequest | None = None
    estimated_network_download_bytes: int = UNKNOWN
    estimated_network_upload_bytes: int = UNKNOWN
    minimum_network_chunk_bytes: int = UNKNOWN
    has_backoff_criteria: bool = False
    initial_backoff_millis: int = DEFAULT_INITIAL_BACKOFF_MILLIS
    backoff_policy: BackoffPolicy = BackoffPolicy.EXPONENTIAL
    persisted: bool = False
    requires_charging: bool = False
    requires_battery_not_low: bool = False
    requires_storage_not_low: bool = False
    requires_device_idle: bool = False
    has_early_constraint: bool = False
    min_latency_millis: int = 0
    has_late_constraint: bool = False
    override_deadline_millis: int = 0
    is_periodic: bool = False
    interval_millis: int = 0
    flex_millis: int = 0
    extras_json: str = "{}"
    transient_extras_json: str = "{}"
    clip_data: str | None = None
    trigger_content_uris: tuple[TriggerContentUri, ...] = ()
    trace_tag: str | None = None
    debug_tags: tuple[str, ...] = field(default=())
    #: Labels a host must have to run the job (uidt's own: docs/fleet.md); sorted, each once.
    required_host_labels: tuple[str, ...] = field(default=())

    # -- Android-style getters -------------------------------------------------------------

    def is_user_initiated(self) -> bool:
        return self.user_initiated

    def is_persisted(self) -> bool:
        return self.persisted

    @property
    def is_expedited(self) -> bool:
        return self.expedited

    @property
    def is_prefetch(self) -> bool:
        return self.prefetch

    @property
    def network_type(self) -> NetworkType:
        """``getNetworkType()``, derived from the network request."""
        if self.required_network is None:
            return NetworkType.NONE
        return self.required_network.network_type

    @property
    def extras(self) -> dict[str, Any]:
        """A fresh copy of the job's extras."""
        return _extras.thaw(self.extras_json)

    @property
    def transient_extras(self) -> dict[str, Any]:
        """A fresh copy of the transient (never persisted) extras."""
        return _extras.thaw(self.transient_extras_json)

    @property
    def estimated_network_bytes(self) -> int:
        """Total estimated bytes (download + upload), ``-1`` when both are unknown."""
        down, up = self.estimated_network_download_bytes, self.estimated_network_upload_bytes
        if up == UNKNOWN:
            return down
        return up + (0 if down == UNKNOWN else down)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, f.name) for f in dataclasses.fields(self)))

    # -- serialisation ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` turns it back into an equal ``JobInfo``."""
        data: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("extras_json", "transient_extras_json"):
                data[f.name.removesuffix("_json")] = _extras.thaw(value)
            elif f.name == "required_network":
                data[f.name] = None if value is None else value.to_dict()
            elif f.name == "trigger_content_uris":
                data[f.name] = [[t.uri, t.notify_for_descendants] for t in value]
            elif f.name == "debug_tags":
                data[f.name] = list(value)
            elif f.name == "required_host_labels":
                if value:  # absent when empty: a job without labels keeps its old JSON
                    data[f.name] = list(value)
            elif isinstance(value, Priority | BackoffPolicy):
                data[f.name] = int(value)
            else:
                data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobInfo:
        """Rebuild and re-validate a ``JobInfo`` from :meth:`to_dict` output.

        Raises:
            InvalidJobError: unknown keys, wrong types, or any builder rule broken.
        """
        if not isinstance(data, Mapping):
            raise InvalidJobError("a job must be a JSON object")
        known = {f.name.removesuffix("_json") for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidJobError(f"unknown job field(s): {', '.join(unknown)}")
        missing = [name for name in ("job_id", "service") if name not in data]
        if missing:
            raise InvalidJobError(f"missing job field(s): {', '.join(missing)}")
        check_identity(data["job_id"], data["service"])
        try:
            kwargs = decode_fields(data, _FLAG_FIELDS)
            job = cls(**kwargs)
        except InvalidJobError:
            raise
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise InvalidJobError(f"malformed job: {exc}") from exc
        enforce_validity(job)
        return job

    class Builder:
        """Android's ``JobInfo.Builder`` in snake_case; every setter returns the builder."""

        def __init__(self, job_id: int, service: str) -> None:
            check_identity(job_id, service)
            self._fields: dict[str, Any] = {"job_id": job_id, "service": service}
            self._priority = Priority.DEFAULT
            self._trigger_uris: list[TriggerContentUri] = []
            self._debug_tags: list[str] = []
            self._host_labels: list[str] = []

        def _set(self, name: str, value: Any) -> JobInfo.Builder:
            self._fields[name] = value
            return self

        def set_user_initiated(self, user_initiated: bool) -> JobInfo.Builder:
            was = bool(self._fields.get("user_initiated", False))
            if user_initiated and self._priority == Priority.DEFAULT:
                self._priority = Priority.MAX
            elif not user_initiated and was and self._priority == Priority.MAX:
                self._priority = Priority.DEFAULT
            return self._set("user_initiated", bool(user_initiated))

        def set_expedited(self, expedited: bool) -> JobInfo.Builder:
            was = bool(self._fields.get("expedited", False))
            if expedited and self._priority == Priority.DEFAULT:
                self._priority = Priority.MAX
            elif not expedited and was and self._priority == Priority.MAX:
                self._priority = Priority.DEFAULT
            return self._set("expedited", bool(expedited))

        def set_priority(self, priority: int) -> JobInfo.Builder:
            if isinstance(priority, bool) or not isinstance(priority, int):
                raise InvalidJobError(f"Invalid priority value: {priority!r}")
            if not Priority.MIN <= priority <= Priority.MAX:
                raise InvalidJobError(f"Invalid priority value: {priority}")
            try:
                self._priority = Priority(priority)
            except ValueError:
                # In range but not a level: build() reports it, as Android does.
                self._priority = priority  # type: ignore[assignment]
            return self

        def set_prefetch(self, prefetch: bool) -> JobInfo.Builder:
            return self._set("prefetch", bool(prefetch))

        def set_required_network(self, request: NetworkRequest | None) -> JobInfo.Builder:
            if request is not None and not isinstance(request, NetworkRequest):
                raise InvalidJobError("set_required_network takes a NetworkRequest or None")
            return self._set("required_network", request)

        def set_required_network_type(self, network_type: NetworkType | int) -> JobInfo.Builder:
            try:
                kind = NetworkType(network_type)
            except ValueError as exc:
                raise InvalidJobError(f"Invalid network type: {network_type}") from exc
            return self._set("required_network", NetworkRequest.for_network_type(kind))

        def set_estimated_network_bytes(self, download: int, upload: int) -> JobInfo.Builder:
            self._set("estimated_network_download_bytes", as_int(download, "download bytes"))
            return self._set("estimated_network_upload_bytes", as_int(upload, "upload bytes"))

        def set_minimum_network_chunk_bytes(self, chunk: int) -> JobInfo.Builder:
            chunk = as_int(chunk, "chunk bytes")
            if chunk != UNKNOWN and chunk <= 0:
                raise InvalidJobError("Minimum chunk size must be positive")
            return self._set("minimum_network_chunk_bytes", chunk)

        def set_backoff_criteria(
            self, initial_backoff_millis: int, policy: BackoffPolicy | int
        ) -> JobInfo.Builder:
            initial = as_int(initial_backoff_millis, "initial backoff")
            try:
                policy = BackoffPolicy(policy)
            except ValueError as exc:
                raise InvalidJobError(f"Invalid backoff policy: {policy}") from exc
            self._set("has_backoff_criteria", True)
            self._set("initial_backoff_millis", max(initial, MIN_BACKOFF_MILLIS))
            return self._set("backoff_policy", policy)

        def set_persisted(self, persisted: bool) -> JobInfo.Builder:
            return self._set("persisted", bool(persisted))

        def set_requires_charging(self, required: bool) -> JobInfo.Builder:
            return self._set("requires_charging", bool(required))

        def set_requires_battery_not_low(self, required: bool) -> JobInfo.Builder:
            return self._set("requires_battery_not_low", bool(required))

        def set_requires_storage_not_low(self, required: bool) -> JobInfo.Builder:
            return self._set("requires_storage_not_low", bool(required))

        def set_requires_device_idle(self, required: bool) -> JobInfo.Builder:
            return self._set("requires_device_idle", bool(required))

        def set_minimum_latency(self, millis: int) -> JobInfo.Builder:
            self._set("has_early_constraint", True)
            return self._set("min_latency_millis", as_int(millis, "minimum latency"))

        def set_override_deadline(self, millis: int) -> JobInfo.Builder:
            self._set("has_late_constraint", True)
            return self._set("override_deadline_millis", as_int(millis, "override deadline"))

        def set_periodic(
            self, interval_millis: int, flex_millis: int | None = None
        ) -> JobInfo.Builder:
            interval = max(as_int(interval_millis, "period"), MIN_PERIOD_MILLIS)
            flex = interval if flex_millis is None else as_int(flex_millis, "flex")
            min_flex = max(interval * 5 // 100, MIN_FLEX_MILLIS)
            flex = min(max(flex, min_flex), interval)
            self._set("is_periodic", True)
            self._set("has_early_constraint", True)
            self._set("has_late_constraint", True)
            self._set("interval_millis", interval)
            return self._set("flex_millis", flex)

        def set_extras(self, extras: Mapping[str, Any] | None) -> JobInfo.Builder:
            return self._set("extras_json", _extras.freeze(extras, "extras"))

        def set_transient_extras(self, extras: Mapping[str, Any] | None) -> JobInfo.Builder:
            return self._set("transient_extras_json", _extras.freeze(extras, "transient extras"))

        def set_clip_data(self, clip_data: str | None) -> JobInfo.Builder:
            if clip_data is not None and not isinstance(clip_data, str):
                raise InvalidJobError("clip data must be a string (a URI or text) or None")
            return self._set("clip_data", clip_data)

        def add_trigger_content_uri(
            self, uri: str, notify_for_descendants: bool = False
        ) -> JobInfo.Builder:
            if not isinstance(uri, str) or not uri:
                raise InvalidJobError("a trigger content URI must be a non-empty string")
            self._trigger_uris.append(TriggerContentUri(uri, bool(notify_for_descendants)))
            return self

        def set_trace_tag(self, tag: str | None) -> JobInfo.Builder:
            if tag is not None and not isinstance(tag, str):
                raise InvalidJobError("trace tag must be a string or None")
            return self._set("trace_tag", tag)

        def add_debug_tag(self, tag: str) -> JobInfo.Builder:
            if not isinstance(tag, str):
                raise InvalidJobError("debug tag must be a string")
            self._debug_tags.append(tag)
            return self

        def add_required_host_label(self, label: str) -> JobInfo.Builder:
            """Run the job only on a host whose ``host_labels`` include ``label`` (repeatable;
            every label added must be there). uidt's own, for a fleet (docs/fleet.md).

            Raises:
                InvalidJobError: ``label`` is not of the label syntax (:mod:`uidt.job.hostlabels`).
            """
            self._host_labels.append(check_label(label))
            return self

        def build(self) -> JobInfo:
            """Validate and return the immutable ``JobInfo``.

            Raises:
                InvalidJobError: naming the first rule of docs/android-semantics.md#job-validation that is broken.
            """
            fields = dict(self._fields)
            fields["priority"] = self._priority
            fields["trigger_content_uris"] = tuple(self._trigger_uris)
            fields["debug_tags"] = tuple(t.strip() for t in self._debug_tags)
            fields["required_host_labels"] = normalized(self._host_labels)
            if fields.get("trace_tag") is not None:
                fields["trace_tag"] = fields["trace_tag"].strip()
            job = JobInfo(**fields)
            enforce_validity(job)
            return job


#: The fields that hold ``true`` or ``false`` in the dict form.
_FLAG_FIELDS = frozenset(f.name for f in dataclasses.fields(JobInfo) if isinstance(f.default, bool))

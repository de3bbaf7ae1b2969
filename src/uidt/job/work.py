"""``JobWorkItem``: a unit of work enqueued onto a job (``JobScheduler.enqueue``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from uidt.errors import InvalidJobError
from uidt.job import extras as _extras

UNKNOWN = -1


@dataclass(frozen=True, eq=True)
class JobWorkItem:
    """A work item with optional network estimates, validated like ``JobInfo`` (docs/android-semantics.md#reason-numbers)."""

    extras_json: str = "{}"
    estimated_network_download_bytes: int = UNKNOWN
    estimated_network_upload_bytes: int = UNKNOWN
    minimum_network_chunk_bytes: int = UNKNOWN

    @classmethod
    def create(
        cls,
        extras: Mapping[str, Any] | None = None,
        *,
        download_bytes: int = UNKNOWN,
        upload_bytes: int = UNKNOWN,
        minimum_chunk_bytes: int = UNKNOWN,
    ) -> JobWorkItem:
        for what, value in (
            ("download bytes", download_bytes),
            ("upload bytes", upload_bytes),
            ("minimum chunk bytes", minimum_chunk_bytes),
        ):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidJobError(f"{what} must be an int, not {type(value).__name__}")
        item = cls(_extras.freeze(extras), download_bytes, upload_bytes, minimum_chunk_bytes)
        item.enforce_validity()
        return item

    @property
    def extras(self) -> dict[str, Any]:
        return _extras.thaw(self.extras_json)

    @property
    def has_network_estimates(self) -> bool:
        return (
            self.estimated_network_download_bytes > 0
            or self.estimated_network_upload_bytes > 0
            or self.minimum_network_chunk_bytes > 0
        )

    def enforce_validity(self) -> None:
        down, up = self.estimated_network_download_bytes, self.estimated_network_upload_bytes
        chunk = self.minimum_network_chunk_bytes
        if up < 0 and up != UNKNOWN:
            raise InvalidJobError(f"Invalid network upload bytes: {up}")
        if down < 0 and down != UNKNOWN:
            raise InvalidJobError(f"Invalid network download bytes: {down}")
        total = down if up == UNKNOWN else up + (0 if down == UNKNOWN else down)
        if chunk != UNKNOWN and chunk <= 0:
            raise InvalidJobError("Minimum chunk size must be positive")
        if chunk != UNKNOWN and total != UNKNOWN and chunk > total:
            raise InvalidJobError(
                "Minimum chunk size can't be greater than estimated network usage"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "extras": self.extras,
            "estimated_network_download_bytes": self.estimated_network_download_bytes,
            "estimated_network_upload_bytes": self.estimated_network_upload_bytes,
            "minimum_network_chunk_bytes": self.minimum_network_chunk_bytes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobWorkItem:
        if not isinstance(data, Mapping):
            raise InvalidJobError("malformed work item: must be a JSON object")
        unknown = sorted(str(k) for k in set(data) - set(cls.__dataclass_fields__) - {"extras"})
        if unknown or "extras_json" in data:
            raise InvalidJobError(f"malformed work item: unknown field(s) {unknown}")
        return cls.create(
            data.get("extras"),
            download_bytes=data.get("estimated_network_download_bytes", UNKNOWN),
            upload_bytes=data.get("estimated_network_upload_bytes", UNKNOWN),
            minimum_chunk_bytes=data.get("minimum_network_chunk_bytes", UNKNOWN),
        )

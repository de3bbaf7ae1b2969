"""JSON-safe extras bundles (uidt's ``PersistableBundle``), kept immutable inside ``JobInfo``."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from uidt.errors import InvalidJobError

#: Android limits nested persistable bundles to this depth.
MAX_DEPTH = 10


def _check(value: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidJobError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, str | bool | int | float):
        if isinstance(value, float) and not math.isfinite(value):  # not valid JSON
            raise InvalidJobError(f"{where}: NaN and infinities are not allowed")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{where}[{index}]", depth + 1)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidJobError(f"{where}: keys must be strings, not {type(key).__name__}")
            _check(item, f"{where}.{key}", depth + 1)
        return
    raise InvalidJobError(
        f"{where}: values must be JSON-safe (str, int, float, bool, None, list, dict), "
        f"not {type(value).__name__}"
    )


def freeze(extras: Mapping[str, Any] | None, name: str = "extras") -> str:
    """Validate an extras mapping and return its canonical JSON text."""
    if extras is None:
        return "{}"
    if not isinstance(extras, Mapping):
        raise InvalidJobError(f"{name} must be a mapping, not {type(extras).__name__}")
    _check(extras, name, 0)
    return json.dumps(extras, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def thaw(frozen: str) -> dict[str, Any]:
    """A fresh, mutable copy of frozen extras."""
    value: dict[str, Any] = json.loads(frozen)
    return value

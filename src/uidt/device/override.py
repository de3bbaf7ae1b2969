"""``OverrideDeviceSource``: the layer behind ``uidt cmd device set KEY=VALUE… / reset / show``.

Overrides sit on top of a base source; the effective snapshot is the base snapshot with the
overridden readings replaced. Listeners hear of changes in the effective snapshot only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from uidt.device.source import DeviceSource, PublishingSource
from uidt.device.state import (
    DeviceState,
    MemoryPressure,
    NetworkState,
    ThermalStatus,
    next_battery_not_low,
)
from uidt.errors import SettingsError
from uidt.job.network import Transport

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_NETWORKS = {
    "none": None,
    "wifi": Transport.WIFI,
    "ethernet": Transport.ETHERNET,
    "cellular": Transport.CELLULAR,
}
_NETWORK_KEYS = ("metered", "roaming", "validated", "bandwidth_kbps")


class DeviceOverrideError(SettingsError):
    """A ``device set`` key or value that is not allowed (a ``ValueError``)."""


def _parse_bool(key: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise DeviceOverrideError(f"{key}={text!r}: expected true|false (or 1|0, yes|no, on|off)")


def _parse_int(key: str, text: str, low: int, high: int | None) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f"an integer ≥ {low}"
        raise DeviceOverrideError(f"{key}={text!r}: expected {bound}")
    return value


def _parse_choice(key: str, text: str, choices: dict[str, Any]) -> Any:
    lowered = text.strip().lower()
    if lowered not in choices:
        raise DeviceOverrideError(f"{key}={text!r}: expected one of {'|'.join(choices)}")
    return choices[lowered]


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "network": lambda key, text: _parse_choice(key, text, _NETWORKS),
    "metered": _parse_bool,
    "roaming": _parse_bool,
    "validated": _parse_bool,
    "bandwidth_kbps": lambda key, text: _parse_int(key, text, 0, None),
    "battery_level": lambda key, text: _parse_int(key, text, 0, 100),
    "plugged": _parse_bool,
    "storage_low": _parse_bool,
    "thermal": lambda key, text: _parse_choice(
        key, text, {status.name.lower(): status for status in ThermalStatus}
    ),
    "memory": lambda key, text: _parse_choice(
        key, text, {level.name.lower(): level for level in MemoryPressure}
    ),
    "power_saver": _parse_bool,
}

#: The keys ``device set`` accepts.
OVERRIDE_KEYS = tuple(_PARSERS)


def parse_overrides(values: dict[str, str]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` strings; raises :class:`DeviceOverrideError` naming the key and allowed values."""
    parsed: dict[str, Any] = {}
    for key, text in values.items():
        parser = _PARSERS.get(key)
        if parser is None:
            raise DeviceOverrideError(
                f"unknown device key {key!r}; known keys: {', '.join(OVERRIDE_KEYS)}"
            )
        parsed[key] = parser(key, text)
    return parsed


class OverrideDeviceSource(PublishingSource):
    """Wraps ``base`` and lets ``device set`` replace readings until ``device reset``."""

    def __init__(self, base: DeviceSource) -> None:
        super().__init__()
        self._base = base
        self._overrides: dict[str, Any] = {}
        self._state = self._effective(base.snapshot(), base.snapshot().battery_not_low)
        base.add_listener(self._on_base_change)

    @property
    def base(self) -> DeviceSource:
        """The source being overridden."""
        return self._base

    def overrides(self) -> dict[str, Any]:
        """The current overrides, parsed."""
        return dict(self._overrides)

    def set(self, **values: str) -> DeviceState:
        """Parse and apply overrides atomically (nothing changes if any is invalid)."""
        parsed = parse_overrides(values)
        self._overrides.update(parsed)
        self._refresh()
        return self._state

    def reset(self) -> DeviceState:
        """Drop every override: back to the base readings."""
        self._overrides.clear()
        self._refresh()
        return self._state

    def record_bandwidth(self, network_name: str, down_kbps: int, up_kbps: int) -> None:
        """Pass measured throughput to the base source if it keeps it (the Linux source does)."""
        record = getattr(self._base, "record_bandwidth", None)
        if record is not None:
            record(network_name, down_kbps, up_kbps)

    # DeviceSource -----------------------------------------------------------------------------

    async def run(self) -> None:
        await self._base.run()

    def describe(self) -> dict[str, str]:
        """``key`` → ``"value (source)"``, with ``(override)`` for overridden keys."""
        base_sources = self._base.describe()
        state = self._state
        network = state.network
        values: dict[str, Any] = {
            "network": network.transport.name.lower() if network is not None else "none",
            "metered": network.metered if network is not None else "-",
            "roaming": network.roaming if network is not None else "-",
            "validated": network.validated if network is not None else "-",
            "bandwidth_kbps": (
                f"{network.downstream_kbps}/{network.upstream_kbps}" if network is not None else "-"
            ),
            "battery_level": state.battery_level,
            "plugged": state.plugged,
            "charging": state.charging,
            "battery_not_low": state.battery_not_low,
            "storage_low": state.storage_low,
            "thermal": state.thermal.name.lower(),
            "memory": state.memory.name.lower(),
            "power_saver": state.power_saver,
        }
        lines: dict[str, str] = {}
        for key, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            lines[key] = f"{text} ({self._source_of(key, base_sources)})"
        return lines

    # Internals ----------------------------------------------------------------------------

    def _source_of(self, key: str, base_sources: dict[str, str]) -> str:
        if key in self._overrides:
            return "override"
        if key in ("charging", "battery_not_low") and (
            "plugged" in self._overrides or "battery_level" in self._overrides
        ):
            return "override"
        if key in _NETWORK_KEYS:
            if "network" in self._overrides:
                return "override"
            return base_sources.get(key, base_sources.get("network", "unknown"))
        return base_sources.get(key, "unknown")

    def _on_base_change(self, _state: DeviceState) -> None:
        self._refresh()

    def _refresh(self) -> None:
        self._publish_state(self._effective(self._base.snapshot(), self._state.battery_not_low))

    def _effective(self, base: DeviceState, previous_not_low: bool) -> DeviceState:
        overrides = self._overrides
        if not overrides:
            return base
        state = base
        if "network" in overrides:
            transport = overrides["network"]
            if transport is None:
                state = state.replace(network=None)
            elif state.network is None:
                state = state.replace(
                    network=NetworkState(
                        transport=transport, name=f"override-{transport.name.lower()}"
                    )
                )
            else:
                state = state.replace(
                    network=dataclasses.replace(state.network, transport=transport)
                )
        if state.network is not None:
            changes: dict[str, Any] = {
                key: overrides[key]
                for key in ("metered", "roaming", "validated")
                if key in overrides
            }
            if "bandwidth_kbps" in overrides:
                changes["downstream_kbps"] = changes["upstream_kbps"] = overrides["bandwidth_kbps"]
            if changes:
                state = state.replace(network=dataclasses.replace(state.network, **changes))
        for key in ("storage_low", "thermal", "memory", "power_saver"):
            if key in overrides:
                state = state.replace(**{key: overrides[key]})
        if "plugged" in overrides:
            state = state.replace(plugged=overrides["plugged"], charging=overrides["plugged"])
        if "battery_level" in overrides:
            state = state.replace(battery_level=overrides["battery_level"])
        if "plugged" in overrides or "battery_level" in overrides:
            state = state.replace(
                battery_not_low=next_battery_not_low(
                    previous_not_low, state.battery_level, state.plugged
                )
            )
        return state

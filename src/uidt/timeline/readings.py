"""Device readings as lanes of a timeline: one lane per reading, a band per stretch of one value.

Shared by ``uidt sim`` (its simulated device) and the daemon's real jobs (the readings it keeps,
:class:`~uidt.device.history.DeviceReading`): both hand in ``(time_ms, DeviceState)`` pairs, oldest
first. Each reading is put in words and in one of three styles: fine for transfers, usable with
limits, or holding transfers back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from uidt.device.state import DeviceState, MemoryPressure, ThermalStatus
from uidt.timeline.model import Band, Lane, Style

#: Puts one reading of a state in words, with its style.
Reader = Callable[[DeviceState], tuple[Style, str]]


def reading_lane(
    title: str,
    read: Reader,
    history: Sequence[tuple[int, DeviceState]],
    end: int,
) -> Lane:
    bands: list[Band] = []
    for i, (at, state) in enumerate(history):
        until = history[i + 1][0] if i + 1 < len(history) else end
        style, label = read(state)
        if bands and (bands[-1].style, bands[-1].label) == (style, label):
            bands[-1] = Band(bands[-1].start_ms, until, style, label)
        elif until > at:
            bands.append(Band(at, until, style, label))
    return Lane(title, tuple(bands))


def network_words(state: DeviceState) -> tuple[Style, str]:
    network = state.network
    if network is None:
        return Style.BAD, "no network"
    name = {0: "cellular", 1: "Wi-Fi", 3: "Ethernet", 4: "VPN"}.get(int(network.transport), "?")
    if network.roaming:
        return Style.LIMITED, f"{name}, roaming"
    if network.metered:
        return Style.LIMITED, f"{name}, metered"
    return Style.GOOD, f"{name}, unmetered"


def battery_words(state: DeviceState) -> tuple[Style, str]:
    if state.charging:
        return Style.GOOD, f"{state.battery_level} %, charging"
    if not state.battery_not_low:
        return Style.BAD, f"{state.battery_level} %, low, on battery"
    return Style.LIMITED, f"{state.battery_level} %, on battery"


def storage_words(state: DeviceState) -> tuple[Style, str]:
    return (Style.BAD, "storage low") if state.storage_low else (Style.GOOD, "storage fine")


def heat_words(state: DeviceState) -> tuple[Style, str]:
    level = state.thermal
    style = Style.GOOD if level is ThermalStatus.NONE else Style.LIMITED
    if level >= ThermalStatus.SEVERE:
        style = Style.BAD
    return style, "cool" if level is ThermalStatus.NONE else f"{level.name.lower()} heat"


def memory_words(state: DeviceState) -> tuple[Style, str]:
    level = state.memory
    style = {MemoryPressure.NORMAL: Style.GOOD, MemoryPressure.MODERATE: Style.LIMITED}
    return style.get(level, Style.BAD), f"{level.name.lower()} memory pressure"


def power_saver_words(state: DeviceState) -> tuple[Style, str]:
    return (Style.LIMITED, "power saver on") if state.power_saver else (Style.GOOD, "off")

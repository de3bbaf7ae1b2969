"""A scenario for ``uidt sim``, as values: the device at the start, apps, jobs and their
behaviour, and device events at given times (the TOML format is in ``docs/simulation.md``;
:mod:`uidt.sim.load` reads it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from uidt.device.state import (
    DeviceState,
    MemoryPressure,
    NetworkState,
    ThermalStatus,
    next_battery_not_low,
)
from uidt.job.info import JobInfo
from uidt.job.network import NetworkType, Transport


class Constraint(StrEnum):
    """A device constraint a job may ask for besides its network."""

    CHARGING = "charging"
    BATTERY_NOT_LOW = "battery_not_low"
    STORAGE_NOT_LOW = "storage_not_low"


class StopAnswer(StrEnum):
    """How the app answers ``on_stop_job``."""

    RESCHEDULE = "reschedule"  # wants_reschedule = True: it comes back
    DROP = "drop"  # wants_reschedule = False: the job ends
    IGNORE = "ignore"  # never answers: the scheduler's stop timeout kills the app


class NetworkKind(StrEnum):
    """The default network a scenario's device has."""

    WIFI = "wifi"
    ETHERNET = "ethernet"
    CELLULAR = "cellular"
    NONE = "none"


#: How a scenario names a job's ``network`` requirement.
NETWORK_NEEDS: dict[str, NetworkType | None] = {
    "none": None,
    "any": NetworkType.ANY,
    "unmetered": NetworkType.UNMETERED,
    "not_roaming": NetworkType.NOT_ROAMING,
    "cellular": NetworkType.CELLULAR,
}

#: The service class every simulated app declares.
SERVICE = "sim.app:TransferService"

_TRANSPORT = {
    NetworkKind.WIFI: Transport.WIFI,
    NetworkKind.ETHERNET: Transport.ETHERNET,
    NetworkKind.CELLULAR: Transport.CELLULAR,
}


@dataclass(frozen=True)
class Behaviour:
    """How the simulated app does one job's work.

    Attributes:
        throughput: bytes per second while the job runs.
        on_stop: its answer to ``on_stop_job``.
        resumes: a new run continues from the bytes already done (else it starts over).
        crash_after_ms: every run crashes this long after it started (``None``: never).
        crash_probability: each run crashes with this chance, at a point of the run drawn from
            the seed (``0``: never).
    """

    throughput: float = 1_000_000.0
    on_stop: StopAnswer = StopAnswer.RESCHEDULE
    resumes: bool = True
    crash_after_ms: int | None = None
    crash_probability: float = 0.0


@dataclass(frozen=True)
class JobSpec:
    """One job the scenario schedules (as if the user tapped "download" at ``at_ms``)."""

    app: str
    job_id: int
    at_ms: int
    user_initiated: bool = True
    network: NetworkType | None = NetworkType.ANY
    constraints: frozenset[Constraint] = frozenset()
    download_bytes: int = 0
    upload_bytes: int = 0
    behaviour: Behaviour = field(default_factory=Behaviour)
    line: int | None = None

    @property
    def total_bytes(self) -> int:
        return self.download_bytes + self.upload_bytes

    @property
    def name(self) -> str:
        return f"{self.app}/{self.job_id}"

    def job_info(self) -> JobInfo:
        """The ``JobInfo`` the simulated app schedules.

        Raises:
            InvalidJobError: the job breaks one of ``JobInfo.Builder.build()``'s rules.
        """
        builder = (
            JobInfo.Builder(self.job_id, SERVICE)
            .set_user_initiated(self.user_initiated)
            .set_required_network_type(self.network if self.network is not None else 0)
            .set_requires_charging(Constraint.CHARGING in self.constraints)
            .set_requires_battery_not_low(Constraint.BATTERY_NOT_LOW in self.constraints)
            .set_requires_storage_not_low(Constraint.STORAGE_NOT_LOW in self.constraints)
        )
        if self.total_bytes:
            builder = builder.set_estimated_network_bytes(self.download_bytes, self.upload_bytes)
        return builder.build()


@dataclass(frozen=True)
class Device:
    """The device readings a scenario sets, flat (``network`` ``none`` keeps ``metered`` for
    when a network comes back)."""

    network: NetworkKind = NetworkKind.WIFI
    metered: bool = False
    roaming: bool = False
    battery: int = 100
    charging: bool = True
    storage_low: bool = False
    thermal: ThermalStatus = ThermalStatus.NONE
    memory: MemoryPressure = MemoryPressure.NORMAL
    power_saver: bool = False

    def state(self, previous: DeviceState | None = None) -> DeviceState:
        """The core's snapshot (battery-not-low with the 20 %/25 % hysteresis from ``previous``)."""
        network = None
        if self.network is not NetworkKind.NONE:
            network = NetworkState(
                transport=_TRANSPORT[self.network],
                metered=self.metered,
                roaming=self.roaming,
                name=self.network.value,
            )
        was_ok = previous.battery_not_low if previous is not None else True
        return DeviceState(
            network=network,
            battery_level=self.battery,
            plugged=self.charging,
            charging=self.charging,
            battery_not_low=next_battery_not_low(was_ok, self.battery, self.charging),
            storage_low=self.storage_low,
            thermal=self.thermal,
            memory=self.memory,
            power_saver=self.power_saver,
        )


@dataclass(frozen=True)
class DeviceEvent:
    """Something that happens at ``at_ms``: device readings change, the user presses Stop on an
    app (``user_stop``), or an app cancels one of its jobs (``cancel``, ``"app/id"``)."""

    at_ms: int
    changes: dict[str, Any] = field(default_factory=dict)
    user_stop: str | None = None
    cancel: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Scenario:
    """A whole scenario: what ``uidt sim`` runs."""

    name: str
    duration_ms: int
    device: Device
    apps: tuple[str, ...]
    jobs: tuple[JobSpec, ...]
    events: tuple[DeviceEvent, ...]
    description: str = ""
    seed: int = 0

"""Controllers set only their bits; the connectivity pipeline of reference §8.3; thermal §8.4."""

from __future__ import annotations

import pytest

from server.helpers import APP, regular, uij
from uidt.device.state import DeviceState, MemoryPressure, NetworkState, ThermalStatus
from uidt.job import NetCapability, NetworkRequest, Priority, Transport
from uidt.job.work import JobWorkItem
from uidt.server.controllers import battery_bits, connectivity_satisfied, storage_bits, transfer_ms
from uidt.server.controllers.connectivity import estimated_transfer_ms, request_satisfied
from uidt.server.restrictions import max_total_jobs, thermally_restricted, ui_reserved_slots
from uidt.server.status import Constraint, JobStatus, Override
from uidt.store.record import JobKey

HOUR = 3_600_000
KEY = JobKey(APP, None, 1)


def status_of(job) -> JobStatus:  # type: ignore[no-untyped-def]
    return JobStatus(KEY, job, enqueue_elapsed=0)


def test_transfer_ms() -> None:
    assert transfer_ms(1_000_000, 8) == 1_000_000
    assert transfer_ms(-1, 8) == -1
    assert transfer_ms(10, 0) == -1


def test_insane_download_cannot_finish_in_12h() -> None:
    big = status_of(uij(estimated_network_bytes=(10**12, -1)))
    slow = NetworkState(metered=True, downstream_kbps=100)
    assert not connectivity_satisfied(big, slow, max_execution_ms=12 * HOUR, charging=False)
    fast = NetworkState(metered=True, downstream_kbps=10**7)
    assert connectivity_satisfied(big, fast, max_execution_ms=12 * HOUR, charging=False)
    # unknown bandwidth never makes it insane
    assert connectivity_satisfied(big, NetworkState(), max_execution_ms=12 * HOUR, charging=False)
    # unmetered while charging skips the estimate check
    assert connectivity_satisfied(
        big, NetworkState(downstream_kbps=100), max_execution_ms=12 * HOUR, charging=True
    )


def test_minimum_chunk_decides_when_known() -> None:
    job = uij(estimated_network_bytes=(10**12, -1), minimum_network_chunk_bytes=1000)
    status = status_of(job)
    net = NetworkState(downstream_kbps=100, upstream_kbps=100)
    assert connectivity_satisfied(status, net, max_execution_ms=12 * HOUR, charging=False)
    assert not connectivity_satisfied(status, net, max_execution_ms=10, charging=False)
    status.work.append(JobWorkItem.create(download_bytes=500, minimum_chunk_bytes=10))
    assert status.minimum_chunk_bytes() == 10
    assert status.estimated_bytes() == (10**12 + 500, -1)


def test_estimated_transfer_time() -> None:
    status = status_of(uij(estimated_network_bytes=(1000, 1000)))
    assert estimated_transfer_ms(status, None) == -1
    assert estimated_transfer_ms(status, NetworkState(downstream_kbps=8, upstream_kbps=8)) == 2000
    assert estimated_transfer_ms(status, NetworkState(downstream_kbps=8)) == 1000
    assert estimated_transfer_ms(status, NetworkState(upstream_kbps=8)) == 1000


def test_suspended_and_missing_networks() -> None:
    status = status_of(uij())
    assert not connectivity_satisfied(status, None, max_execution_ms=HOUR, charging=False)
    assert not connectivity_satisfied(
        status, NetworkState(suspended=True), max_execution_ms=HOUR, charging=False
    )
    no_network = status_of(regular().__class__(job_id=1, service="a:B"))
    assert connectivity_satisfied(no_network, None, max_execution_ms=HOUR, charging=False)


@pytest.mark.parametrize(
    ("caps", "transports", "network", "ok"),
    [
        ({NetCapability.NOT_METERED}, set(), NetworkState(metered=True), False),
        ({NetCapability.NOT_METERED}, set(), NetworkState(), True),
        ({NetCapability.NOT_ROAMING}, set(), NetworkState(roaming=True), False),
        ({NetCapability.VALIDATED}, set(), NetworkState(validated=False), False),
        ({NetCapability.NOT_VPN}, set(), NetworkState(vpn=True), False),
        (
            {NetCapability.TEMPORARILY_NOT_METERED},
            set(),
            NetworkState(temporarily_not_metered=True),
            True,
        ),
        ({NetCapability.NOT_SUSPENDED}, set(), NetworkState(), True),
        (set(), {Transport.CELLULAR}, NetworkState(), False),
        (set(), {Transport.CELLULAR}, NetworkState(transport=Transport.CELLULAR), True),
        (set(), {Transport.VPN}, NetworkState(vpn=True), True),
    ],
)
def test_request_matching(
    caps: set[NetCapability], transports: set[Transport], network: NetworkState, ok: bool
) -> None:
    request = NetworkRequest(frozenset(caps), frozenset(transports))
    assert request_satisfied(request, network) is ok


def test_battery_and_storage_bits() -> None:
    status = status_of(uij())
    assert battery_bits(status, DeviceState(), app_visible=False) == (
        Constraint.CHARGING | Constraint.BATTERY_NOT_LOW
    )
    unplugged = DeviceState(plugged=False, charging=False)
    assert battery_bits(status, unplugged, app_visible=True) == Constraint.BATTERY_NOT_LOW
    low = DeviceState(battery_not_low=False, charging=True)
    assert battery_bits(status, low, app_visible=False) == Constraint.NONE
    assert battery_bits(status, low, app_visible=True) == Constraint.CHARGING
    assert storage_bits(DeviceState(storage_low=True)) == Constraint.NONE


def test_overrides() -> None:
    status = status_of(uij(requires_charging=True))
    assert status.unsatisfied() == status.required
    status.override = Override.SOFT
    assert status.unsatisfied() == Constraint.CONNECTIVITY
    status.override = Override.FULL
    assert status.unsatisfied() == Constraint.NONE


@pytest.mark.parametrize(
    ("thermal", "job", "visible", "within", "restricted"),
    [
        (ThermalStatus.NONE, "low", False, False, False),
        (ThermalStatus.SEVERE, "uij", False, True, True),
        (ThermalStatus.SEVERE, "uij", True, False, False),
        (ThermalStatus.MODERATE, "uij", False, False, False),
        (ThermalStatus.MODERATE, "high", False, True, False),
        (ThermalStatus.MODERATE, "high", False, False, True),
        (ThermalStatus.MODERATE, "default", False, True, True),
        (ThermalStatus.LIGHT, "min", False, True, True),
        (ThermalStatus.LIGHT, "low", False, True, False),
        (ThermalStatus.LIGHT, "low", False, False, True),
        (ThermalStatus.LIGHT, "default", False, False, False),
    ],
)
def test_thermal(
    thermal: ThermalStatus, job: str, visible: bool, within: bool, restricted: bool
) -> None:
    priorities = {
        "min": Priority.MIN,
        "low": Priority.LOW,
        "default": Priority.DEFAULT,
        "high": Priority.HIGH,
    }
    info = uij() if job == "uij" else regular(priority=priorities[job])
    assert (
        thermally_restricted(
            status_of(info), thermal, app_visible=visible, running_within_guarantee=within
        )
        is restricted
    )


def test_memory_pressure_shrinks_slots() -> None:
    assert [max_total_jobs(40, m) for m in MemoryPressure] == [40, 36, 24, 16]
    assert ui_reserved_slots(40, MemoryPressure.NORMAL) == 8
    assert ui_reserved_slots(1, MemoryPressure.CRITICAL) == 0

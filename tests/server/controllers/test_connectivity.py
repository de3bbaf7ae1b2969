"""The connectivity controller's pipeline (docs/android-semantics.md#connectivity)."""

from __future__ import annotations

import pytest

from server.helpers import APP, regular, uij
from uidt.device.state import NetworkState
from uidt.job import JobInfo, NetCapability, NetworkRequest, Transport
from uidt.job.key import JobKey
from uidt.job.work import JobWorkItem
from uidt.server.controllers import connectivity_satisfied, transfer_ms
from uidt.server.controllers.connectivity import (
    bandwidth_matters,
    estimated_transfer_ms,
    request_satisfied,
)
from uidt.server.status import JobStatus

HOUR = 3_600_000


def status_of(job: JobInfo) -> JobStatus:
    return JobStatus(JobKey(APP, None, 1), job, enqueue_elapsed=0)


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


def test_bandwidth_matters_only_with_a_positive_byte_figure() -> None:
    """A job with no positive estimate or chunk is never insane, whatever the bandwidth."""
    plain = status_of(uij())
    assert not bandwidth_matters(plain)
    crawl = NetworkState(metered=True, downstream_kbps=1, upstream_kbps=1)
    assert connectivity_satisfied(plain, crawl, max_execution_ms=0, charging=False)
    zero = status_of(uij(estimated_network_bytes=(0, 0)))
    assert not bandwidth_matters(zero)
    assert connectivity_satisfied(zero, crawl, max_execution_ms=0, charging=False)
    assert bandwidth_matters(status_of(uij(estimated_network_bytes=(-1, 1))))
    assert bandwidth_matters(status_of(uij(minimum_network_chunk_bytes=1)))
    plain.work.append(JobWorkItem.create(download_bytes=10**12))
    assert bandwidth_matters(plain)
    assert not connectivity_satisfied(plain, crawl, max_execution_ms=HOUR, charging=False)

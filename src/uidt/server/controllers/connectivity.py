"""Connectivity controller: the CONNECTIVITY bit, with Android's pipeline (docs/android-semantics.md#connectivity)."""

from __future__ import annotations

from uidt.device.state import NetworkState
from uidt.job.network import NetCapability, NetworkRequest, Transport
from uidt.server.status import JobStatus

UNKNOWN = -1


def transfer_ms(num_bytes: int, kbps: int) -> int:
    """Milliseconds to move ``num_bytes`` at ``kbps`` (-1 when either is unknown)."""
    if num_bytes < 0 or kbps <= 0:
        return UNKNOWN
    return num_bytes * 1000 // (kbps * 1000 // 8 or 1)


def estimated_transfer_ms(status: JobStatus, network: NetworkState | None) -> int:
    """Download time + upload time of the job's estimates on the network (-1 if unknown)."""
    if network is None:
        return UNKNOWN
    down, up = status.estimated_bytes()
    down_ms = transfer_ms(down, network.downstream_kbps)
    up_ms = transfer_ms(up, network.upstream_kbps)
    if down_ms == UNKNOWN:
        return up_ms
    if up_ms == UNKNOWN:
        return down_ms
    return down_ms + up_ms


def is_insane(
    status: JobStatus, network: NetworkState, *, max_execution_ms: int, charging: bool
) -> bool:
    """The job cannot finish within its maximum runtime at the measured bandwidth."""
    chunk = status.minimum_chunk_bytes()
    if chunk != UNKNOWN:
        return (
            transfer_ms(chunk, network.downstream_kbps) > max_execution_ms
            or transfer_ms(chunk, network.upstream_kbps) > max_execution_ms
        )
    if not network.metered and charging:
        return False
    down, up = status.estimated_bytes()
    return (
        transfer_ms(down, network.downstream_kbps) > max_execution_ms
        or transfer_ms(up, network.upstream_kbps) > max_execution_ms
    )


def network_offers(network: NetworkState) -> tuple[frozenset[NetCapability], frozenset[Transport]]:
    """The capabilities and transports a network offers to a request."""
    have = {NetCapability.INTERNET, NetCapability.NOT_RESTRICTED}
    if network.validated:
        have.add(NetCapability.VALIDATED)
    if not network.metered:
        have.add(NetCapability.NOT_METERED)
    if network.temporarily_not_metered:
        have.add(NetCapability.TEMPORARILY_NOT_METERED)
    if not network.roaming:
        have.add(NetCapability.NOT_ROAMING)
    if not network.vpn:
        have.add(NetCapability.NOT_VPN)
    if not network.suspended:
        have.add(NetCapability.NOT_SUSPENDED)
    transports = {network.transport}
    if network.vpn:
        transports.add(Transport.VPN)
    return frozenset(have), frozenset(transports)


#: The last network asked about and what it offers: a check pass asks about one network for
#: thousands of jobs (a memo of a pure function, keyed by the snapshot's identity).
_offers: list[tuple[NetworkState, tuple[frozenset[NetCapability], frozenset[Transport]]]] = []


def _offers_of(network: NetworkState) -> tuple[frozenset[NetCapability], frozenset[Transport]]:
    if _offers and _offers[0][0] is network:
        return _offers[0][1]
    offers = network_offers(network)
    _offers[:] = [(network, offers)]
    return offers


def request_satisfied(request: NetworkRequest, network: NetworkState) -> bool:
    """The job's NetworkRequest is met by the network's capabilities and transport."""
    have, transports = _offers_of(network)
    if not request.capabilities <= have:
        return False
    if not request.transports:
        return True
    return bool(request.transports & transports)


def bandwidth_matters(status: JobStatus) -> bool:
    """Whether the network's bandwidth can fail the job (:func:`is_insane`): only a positive byte
    figure (an estimate, a minimum chunk) can, and a job with work items is assumed to have one.
    Without one, the network's capabilities alone decide (:func:`offers_satisfy`)."""
    return bool(status.work) or status.has_byte_figures


def offers_satisfy(request: NetworkRequest, network: NetworkState | None) -> bool:
    """The network is up and offers what the request asks (the bandwidth check apart)."""
    if network is None or network.suspended:
        return False
    return request_satisfied(request, network)


def connectivity_satisfied(
    status: JobStatus,
    network: NetworkState | None,
    *,
    max_execution_ms: int,
    charging: bool,
) -> bool:
    """Whether the job's connectivity constraint holds on the default network."""
    request = status.job.required_network
    if request is None:
        return True
    if network is None or network.suspended:
        return False
    if is_insane(status, network, max_execution_ms=max_execution_ms, charging=charging):
        return False
    # Step 3 (metered use allowed) always holds in uidt: treated UIJs may use metered networks,
    # and there is no Data Saver to forbid it to others; NOT_METERED requests are checked below.
    return offers_satisfy(request, network)

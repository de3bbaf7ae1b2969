"""Network requirements: ``NetworkRequest``, capabilities, transports and ``NetworkType``.

Numbers are Android's (``NetworkCapabilities``). ``NetworkType`` maps onto a request and back
exactly as ``JobInfo.Builder.setRequiredNetworkType`` / ``getNetworkType`` do (docs/android-semantics.md#job-validation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from uidt.errors import InvalidJobError


class NetCapability(IntEnum):
    """Network capabilities a job may require (Android's ``NET_CAPABILITY_*``)."""

    NOT_METERED = 11
    INTERNET = 12
    NOT_RESTRICTED = 13
    NOT_VPN = 15
    VALIDATED = 16
    NOT_ROAMING = 18
    NOT_SUSPENDED = 21
    TEMPORARILY_NOT_METERED = 25


class Transport(IntEnum):
    """Network transports (Android's ``TRANSPORT_*``)."""

    CELLULAR = 0
    WIFI = 1
    ETHERNET = 3
    VPN = 4


class NetworkType(IntEnum):
    """Android's ``JobInfo.NETWORK_TYPE_*``."""

    NONE = 0
    ANY = 1
    UNMETERED = 2
    NOT_ROAMING = 3
    CELLULAR = 4


@dataclass(frozen=True, slots=True)
class NetworkRequest:
    """An immutable set of required capabilities and acceptable transports.

    An empty ``transports`` set accepts any transport.
    """

    capabilities: frozenset[NetCapability] = field(default_factory=frozenset)
    transports: frozenset[Transport] = field(default_factory=frozenset)

    class Builder:
        """Mutable builder, as ``NetworkRequest.Builder``; starts with INTERNET, NOT_RESTRICTED, NOT_VPN."""

        def __init__(self) -> None:
            self._caps: set[NetCapability] = {
                NetCapability.INTERNET,
                NetCapability.NOT_RESTRICTED,
                NetCapability.NOT_VPN,
            }
            self._transports: set[Transport] = set()

        def add_capability(self, capability: NetCapability) -> NetworkRequest.Builder:
            self._caps.add(NetCapability(capability))
            return self

        def remove_capability(self, capability: NetCapability) -> NetworkRequest.Builder:
            self._caps.discard(NetCapability(capability))
            return self

        def clear_capabilities(self) -> NetworkRequest.Builder:
            self._caps.clear()
            return self

        def add_transport_type(self, transport: Transport) -> NetworkRequest.Builder:
            self._transports.add(Transport(transport))
            return self

        def remove_transport_type(self, transport: Transport) -> NetworkRequest.Builder:
            self._transports.discard(Transport(transport))
            return self

        def build(self) -> NetworkRequest:
            return NetworkRequest(frozenset(self._caps), frozenset(self._transports))

    def has_capability(self, capability: NetCapability) -> bool:
        return capability in self.capabilities

    def has_transport(self, transport: Transport) -> bool:
        return transport in self.transports

    @classmethod
    def for_network_type(cls, network_type: NetworkType) -> NetworkRequest | None:
        """The request ``setRequiredNetworkType(t)`` produces, or ``None`` for NONE."""
        network_type = NetworkType(network_type)
        if network_type is NetworkType.NONE:
            return None
        caps = {NetCapability.INTERNET, NetCapability.VALIDATED}
        transports: set[Transport] = set()
        if network_type is NetworkType.UNMETERED:
            caps.add(NetCapability.NOT_METERED)
        elif network_type is NetworkType.NOT_ROAMING:
            caps.add(NetCapability.NOT_ROAMING)
        elif network_type is NetworkType.CELLULAR:
            transports.add(Transport.CELLULAR)
        return cls(frozenset(caps), frozenset(transports))

    @property
    def network_type(self) -> NetworkType:
        """``getNetworkType()``: NOT_METERED → UNMETERED, NOT_ROAMING, cellular → CELLULAR, else ANY."""
        if NetCapability.NOT_METERED in self.capabilities:
            return NetworkType.UNMETERED
        if NetCapability.NOT_ROAMING in self.capabilities:
            return NetworkType.NOT_ROAMING
        if Transport.CELLULAR in self.transports:
            return NetworkType.CELLULAR
        return NetworkType.ANY

    def to_dict(self) -> dict[str, Any]:
        return {
            "capabilities": sorted(int(c) for c in self.capabilities),
            "transports": sorted(int(t) for t in self.transports),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkRequest:
        """Rebuild a request from :meth:`to_dict` output.

        Raises:
            InvalidJobError: not a mapping, unknown keys, or unknown capability/transport numbers.
        """
        if not isinstance(data, Mapping):
            raise InvalidJobError("Invalid network request: must be a JSON object")
        unknown = sorted(str(k) for k in set(data) - {"capabilities", "transports"})
        if unknown:
            raise InvalidJobError(f"Invalid network request: unknown field(s) {', '.join(unknown)}")
        caps = frozenset(NetCapability(n) for n in _numbers(data, "capabilities", NetCapability))
        transports = frozenset(Transport(n) for n in _numbers(data, "transports", Transport))
        return cls(caps, transports)


def _numbers(data: Mapping[str, Any], key: str, kind: type[IntEnum]) -> list[int]:
    values = data.get(key, [])
    if not isinstance(values, list | tuple):
        raise InvalidJobError(f"Invalid network request: {key} must be a list")
    known = {int(member) for member in kind}
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value not in known:
            raise InvalidJobError(f"Invalid network request: unknown {key} value {value!r}")
    return list(values)

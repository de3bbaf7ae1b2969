"""From an installed app (manifest + the user's grants) to the core's ``AppInfo``."""

from __future__ import annotations

from uidt.packages.manifest import Manifest
from uidt.server.apps import AppInfo
from uidt.store.record import AppRecord


def app_info_from(manifest: Manifest, record: AppRecord) -> AppInfo:
    """The facts the scheduler core needs about one app."""
    return AppInfo(
        package=manifest.package,
        services={service.name: service.permission for service in manifest.services},
        permissions=frozenset(manifest.permissions),
        channels=frozenset(channel.id for channel in manifest.channels)
        | frozenset(record.channels),
        revoked=frozenset(record.revoked),
        granted=frozenset(record.granted),
    )

"""The daemon's installed apps: their manifests, and the verbs that install, change and remove them.

A facet of the runtime (``runtime.apps``, as the core has ``service.queries``): Android's
package manager side of JobScheduler (``PackageManagerService`` telling ``JobSchedulerService``
that a package was added, changed or removed). An installed app is an :class:`AppRecord` in the
store (its manifest, the user's grants and revocations) and its :class:`Manifest` here, which the
runtime reads when the core asks it to bind the app. Every change is handed to the core as an
event (``AppInstalled``, ``AppRemoved``) through the runtime's ``apply``, so it is flushed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from uidt.clock import Clock
from uidt.daemon.appinfo import app_info_from
from uidt.errors import InvalidJobError, ManifestError
from uidt.packages.manifest import (
    DEFAULT_ALLOWED_APP_OPS,
    KNOWN_PERMISSIONS,
    RUN_ANY_IN_BACKGROUND,
    USER_GRANTED_PERMISSIONS,
    Manifest,
    load_for_install,
)
from uidt.server import events as ev
from uidt.server.service import JobSchedulerService
from uidt.store.record import AppRecord
from uidt.store.writer import StoreWriter

log = logging.getLogger("uidt.daemon")

#: The names ``uidt apps grant|revoke`` accept.
GRANTABLE = KNOWN_PERMISSIONS | USER_GRANTED_PERMISSIONS | DEFAULT_ALLOWED_APP_OPS


class InstalledApps:
    """The apps one daemon knows (``uidt apps``), kept in the store and told to the core.

    Args:
        store: where the app records are kept (the runtime's store writer).
        clock: stamps an install.
        service: the core; :meth:`load` registers the stored apps without a flush.
        apply: the runtime's ``apply`` (hand an event to the core, then carry out its actions).
    """

    def __init__(
        self,
        *,
        store: StoreWriter,
        clock: Clock,
        service: JobSchedulerService,
        apply: Callable[[ev.CoreEvent], None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._service = service
        self._apply = apply
        self._manifests: dict[str, Manifest] = {}

    def load(self) -> None:
        """Register the apps the store holds; one with an unreadable manifest is logged, skipped."""
        for record in self._store.apps():
            try:
                manifest = Manifest.from_dict(record.manifest)
            except ManifestError as exc:
                log.error("installed app %s has an unreadable manifest: %s", record.package, exc)
                continue
            self._manifests[record.package] = manifest
            self._service.handle(ev.AppInstalled(app_info_from(manifest, record)))

    def get(self, app: str) -> Manifest | None:
        """The manifest of ``app``, ``None`` when it is not installed."""
        return self._manifests.get(app)

    def require(self, app: str) -> Manifest:
        """The manifest of ``app``.

        Raises:
            InvalidJobError: ``app`` is not installed (the message says how to install it).
        """
        manifest = self._manifests.get(app)
        if manifest is None:
            raise InvalidJobError(f"No such app: {app} (install it with `uidt apps install`)")
        return manifest

    def install_file(self, manifest_path: str, *, trust: bool = False) -> dict[str, Any]:
        """Read (blocking: the API does it in a thread), check and install a manifest file.

        Raises:
            ManifestError: the file is unreadable, invalid or not safe (nothing is installed).
        """
        return self.install(load_for_install(Path(manifest_path), trust=trust))

    def install(self, manifest: Manifest) -> dict[str, Any]:
        """Install or update an app; the user's grants and revocations and the channels the app
        created in a previous install stay.

        Returns:
            The app as ``GET /v1/apps`` lists it.
        """
        previous = self._store.get_app(manifest.package)
        record = AppRecord(
            package=manifest.package,
            manifest=manifest.to_dict(),
            granted=previous.granted if previous else frozenset(),
            revoked=previous.revoked if previous else frozenset(),
            installed_utc_ms=int(self._clock.utc().timestamp() * 1000),
            channels=dict(previous.channels) if previous else {},
        )
        self._store.put_app(record)
        self._manifests[manifest.package] = manifest
        self._apply(ev.AppInstalled(app_info_from(manifest, record)))
        return app_json(record)

    def describe(self) -> list[dict[str, Any]]:
        """Every installed app as ``GET /v1/apps`` lists it."""
        return [app_json(record) for record in self._store.apps()]

    def remove(self, app: str) -> None:
        """Uninstall ``app``: the core stops and drops its jobs, then its record goes.

        Raises:
            InvalidJobError: ``app`` is not installed (nothing changes).
        """
        self.require(app)
        self._apply(ev.AppRemoved(app))
        self._store.remove_app(app)
        del self._manifests[app]

    def set_permission(self, app: str, permission: str, *, granted: bool) -> None:
        """Grant or revoke one permission or app-op of ``app`` (``uidt apps grant|revoke``,
        ``restrict|unrestrict`` for RUN_ANY_IN_BACKGROUND); at once, and kept across restarts.

        Raises:
            InvalidJobError: ``app`` is not installed, or ``permission`` is not a name uidt
                knows (nothing changes).
        """
        manifest = self.require(app)
        if permission not in GRANTABLE:
            raise InvalidJobError(
                f"Unknown permission {permission!r}: one of {', '.join(sorted(GRANTABLE))}"
            )
        record = self._store.get_app(app)
        assert record is not None
        if granted:
            if permission not in DEFAULT_ALLOWED_APP_OPS:
                record.granted = record.granted | {permission}
            record.revoked = record.revoked - {permission}
        else:
            record.revoked = record.revoked | {permission}
            record.granted = record.granted - {permission}
        self._store.put_app(record)
        self._apply(ev.AppInstalled(app_info_from(manifest, record)))


def app_json(record: AppRecord) -> dict[str, Any]:
    """One installed app as the control API shows it."""
    return {
        "package": record.package,
        "manifest": record.manifest,
        "granted": sorted(record.granted),
        "revoked": sorted(record.revoked),
        "background_restricted": RUN_ANY_IN_BACKGROUND in record.revoked,
    }

"""Apps every daemon has: the built-in transfer app ``uidt.transfers`` (registered at start)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.packages.manifest import Manifest
from uidt.transfers.jobs import builtin_manifest

if TYPE_CHECKING:
    from uidt.daemon.runtime import Runtime


def builtin_manifests() -> list[Manifest]:
    return [builtin_manifest()]


def install_builtin_apps(runtime: Runtime) -> None:
    """(Re-)install the built-in apps; the user's grants and revocations are kept."""
    for manifest in builtin_manifests():
        runtime.apps.install(manifest)

"""Apps every daemon has: the built-in transfer app ``uidt.transfers`` (registered at start)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from uidt.app.manifest import Manifest
from uidt.transfers.jobs import MANIFEST

if TYPE_CHECKING:
    from uidt.daemon.runtime import Runtime


def builtin_manifests() -> list[Manifest]:
    data = dict(MANIFEST)
    data["python"] = sys.executable
    return [Manifest.from_dict(data)]


def install_builtin_apps(runtime: Runtime) -> None:
    """(Re-)install the built-in apps; the user's grants and revocations are kept."""
    for manifest in builtin_manifests():
        runtime.install_manifest(manifest)

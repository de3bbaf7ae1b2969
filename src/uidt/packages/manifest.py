"""App manifests: ``uidt.toml`` files and the ``uidt.apps`` entry point group.

```toml
package = "org.example.photos"
permissions = ["RUN_USER_INITIATED_JOBS", "RECEIVE_BOOT_COMPLETED"]
python = "/path/to/venv/bin/python"       # optional: defaults to the installing interpreter
[[services]]
name = "photos.sync:UploadService"
permission = "BIND_JOB_SERVICE"
[[channels]]
id = "transfers"
name = "Transfers"
notification_receiver = "photos.sync:Actions"   # optional, at the top: see below
```

``notification_receiver`` (``module:Class``, a
:class:`~uidt.app.receiver.NotificationActionReceiver`) is the app's receiver of its
notification actions, as an Android ``BroadcastReceiver`` of a notification's ``PendingIntent``:
a click on one of the app's notification buttons calls its ``on_notification_action`` in the
app's worker. An app without one cannot be sent clicks (the click is refused).

A service without ``permission = "BIND_JOB_SERVICE"`` is accepted here and refused when a job is
scheduled onto it (``ValueError``), as Android does. Importability of a service is not checked at
install time: an unimportable service fails the job's start, never the daemon.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uidt.errors import ManifestError

KNOWN_PERMISSIONS = frozenset(
    {
        "RUN_USER_INITIATED_JOBS",
        "RECEIVE_BOOT_COMPLETED",
        "ACCESS_NETWORK_STATE",
        "INTERNET",
    }
)
BIND_JOB_SERVICE = "BIND_JOB_SERVICE"
#: Granted by the user (``uidt apps grant``), never declared.
USER_GRANTED_PERMISSIONS = frozenset({"START_FROM_BACKGROUND"})
#: The app-op the user revokes to restrict an app's background activity (``uidt apps restrict``).
RUN_ANY_IN_BACKGROUND = "RUN_ANY_IN_BACKGROUND"
#: App-ops every app holds until the user revokes them; never declared, and granting one only
#: lifts its revocation.
DEFAULT_ALLOWED_APP_OPS = frozenset({RUN_ANY_IN_BACKGROUND})
_PACKAGE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_SERVICE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
#: Largest manifest read (a real one is a few hundred bytes).
MAX_MANIFEST_BYTES = 64 * 1024
_TOP_KEYS = {
    "package",
    "permissions",
    "python",
    "services",
    "channels",
    "root",
    "notification_receiver",
}
_SERVICE_KEYS = {"name", "permission"}
_CHANNEL_KEYS = {"id", "name"}


@dataclass(frozen=True, slots=True)
class ServiceDecl:
    """A declared JobService: ``module:Class`` and the permission guarding it."""

    name: str
    permission: str | None = BIND_JOB_SERVICE

    @property
    def guarded(self) -> bool:
        """``True`` when jobs may be scheduled onto it (guarded by ``BIND_JOB_SERVICE``)."""
        return self.permission == BIND_JOB_SERVICE


@dataclass(frozen=True, slots=True)
class ChannelDecl:
    """A notification channel."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """A validated app manifest."""

    package: str
    permissions: tuple[str, ...] = ()
    python: str = sys.executable
    services: tuple[ServiceDecl, ...] = ()
    channels: tuple[ChannelDecl, ...] = ()
    #: Directory added to the worker's import path (the folder of ``uidt.toml``).
    root: str | None = None
    #: ``module:Class`` receiving the app's notification actions (``None``: clicks are refused).
    notification_receiver: str | None = None

    def service(self, name: str) -> ServiceDecl | None:
        """The declared service called ``name`` (``module:Class``), or ``None``."""
        return next((s for s in self.services if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict that :meth:`from_dict` reads back (the daemon stores it)."""
        return {
            "package": self.package,
            "permissions": list(self.permissions),
            "python": self.python,
            "services": [{"name": s.name, "permission": s.permission} for s in self.services],
            "channels": [{"id": c.id, "name": c.name} for c in self.channels],
            "root": self.root,
            "notification_receiver": self.notification_receiver,
        }

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "manifest") -> Manifest:
        """Validate a manifest given as a dict; errors name ``source`` and the key."""
        if not isinstance(data, dict):
            raise ManifestError(f"{source}: a manifest must be a table/object")
        _no_unknown(data, _TOP_KEYS, source)
        package = data.get("package")
        if not isinstance(package, str) or not _PACKAGE.match(package):
            raise ManifestError(
                f"{source}: 'package' must be a dotted name such as 'org.example.app', "
                f"not {package!r}"
            )
        permissions = _string_list(data.get("permissions", []), "permissions", source)
        for permission in permissions:
            if permission in USER_GRANTED_PERMISSIONS:
                raise ManifestError(
                    f"{source}: 'permissions': {permission} is granted by the user "
                    f"(uidt apps grant APP {permission}), not declared"
                )
            if permission not in KNOWN_PERMISSIONS:
                raise ManifestError(
                    f"{source}: 'permissions': unknown permission {permission!r} "
                    f"(known: {', '.join(sorted(KNOWN_PERMISSIONS))})"
                )
        python = data.get("python") or sys.executable
        if not isinstance(python, str):
            raise ManifestError(f"{source}: 'python' must be a path to an interpreter")
        services = tuple(
            _service(s, i, source) for i, s in enumerate(_list(data, "services", source))
        )
        names = [s.name for s in services]
        if len(set(names)) != len(names):
            raise ManifestError(f"{source}: a service is declared twice")
        channels = tuple(
            _channel(c, i, source) for i, c in enumerate(_list(data, "channels", source))
        )
        root = data.get("root")
        if root is not None and not isinstance(root, str):
            raise ManifestError(f"{source}: 'root' must be a path")
        receiver = data.get("notification_receiver")
        if receiver is not None and (not isinstance(receiver, str) or not _SERVICE.match(receiver)):
            raise ManifestError(
                f"{source}: 'notification_receiver' must be 'module:Class', not {receiver!r}"
            )
        return cls(package, tuple(permissions), python, services, channels, root, receiver)


def _no_unknown(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ManifestError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")


def _list(data: dict[str, Any], key: str, source: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ManifestError(f"{source}: '{key}' must be an array of tables")
    return value


def _string_list(value: Any, key: str, source: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"{source}: '{key}' must be an array of strings")
    return list(value)


def _service(entry: Any, index: int, source: str) -> ServiceDecl:
    where = f"{source}: services[{index}]"
    if not isinstance(entry, dict):
        raise ManifestError(f"{where} must be a table")
    _no_unknown(entry, _SERVICE_KEYS, where)
    name = entry.get("name")
    if not isinstance(name, str) or not _SERVICE.match(name):
        raise ManifestError(f"{where}: 'name' must be 'module:Class', not {name!r}")
    permission = entry.get("permission")
    if permission is not None and not isinstance(permission, str):
        raise ManifestError(f"{where}: 'permission' must be a string")
    return ServiceDecl(name, permission)


def _channel(entry: Any, index: int, source: str) -> ChannelDecl:
    where = f"{source}: channels[{index}]"
    if not isinstance(entry, dict):
        raise ManifestError(f"{where} must be a table")
    _no_unknown(entry, _CHANNEL_KEYS, where)
    cid, name = entry.get("id"), entry.get("name", entry.get("id"))
    if not isinstance(cid, str) or not cid or not isinstance(name, str):
        raise ManifestError(f"{where}: 'id' (and 'name') must be non-empty strings")
    return ChannelDecl(cid, name)


def load_manifest(path: Path | str) -> Manifest:
    """Read and validate a ``uidt.toml``; its folder becomes the worker's import root.

    Only a regular file of at most :data:`MAX_MANIFEST_BYTES` is read (a FIFO, a device such as
    ``/dev/zero`` or a folder is refused without reading it). A relative ``root`` is taken
    from the manifest's folder.

    Raises:
        ManifestError: missing, not a regular file, too large, unreadable, not TOML, or invalid
            (the message names the file).
    """
    path = Path(path).expanduser().absolute()
    try:
        data = tomllib.loads(_read_regular(path).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: cannot be read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from exc
    root = data.setdefault("root", str(path.parent))
    if isinstance(root, str):
        data["root"] = str(path.parent / Path(root).expanduser())  # an absolute root stays
    return Manifest.from_dict(data, source=str(path))


def load_for_install(path: Path | str, *, trust: bool = False) -> Manifest:
    """:func:`load_manifest`, then (unless ``trust``) refuse code paths others can change.

    Blocking: the daemon calls it off its event loop.

    Raises:
        ManifestError: as :func:`load_manifest`, or a path another user could change
            (:mod:`uidt.packages.trust`; the message names it and why).
    """
    from uidt.packages.trust import require_safe_paths

    absolute = Path(path).expanduser().absolute()
    manifest = load_manifest(absolute)
    if not trust:
        checked = [(absolute, "the manifest"), (absolute.parent, "the manifest's folder")]
        if manifest.root is not None:
            checked.append((Path(manifest.root), "the app's root, put on PYTHONPATH"))
        if manifest.python != sys.executable:
            checked.append((Path(manifest.python), "the app's python"))
        require_safe_paths(checked)
    return manifest


def _read_regular(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most :data:`MAX_MANIFEST_BYTES`."""
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such manifest") from None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot be read: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ManifestError(f"{path}: not a regular file ({_kind(st.st_mode)})")
        if st.st_size > MAX_MANIFEST_BYTES:
            raise ManifestError(
                f"{path}: {st.st_size} bytes; a manifest may have {MAX_MANIFEST_BYTES}"
            )
        chunks, total = [], 0
        while chunk := os.read(fd, MAX_MANIFEST_BYTES + 1 - total):  # a file that grows
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_MANIFEST_BYTES:
                raise ManifestError(f"{path}: larger than {MAX_MANIFEST_BYTES} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise ManifestError(f"{path}: cannot be read: {exc.strerror}") from exc
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a file"


def entry_points(group: str) -> Any:
    """``importlib.metadata.entry_points(group=...)``, imported on first use (it is slow to import)."""
    from importlib.metadata import entry_points as find

    return find(group=group)


def manifests_from_entry_points(group: str = "uidt.apps") -> list[Manifest]:
    """Manifests published by installed distributions.

    Each entry point of ``group`` loads to a dict, a path to a ``uidt.toml``, or a callable
    returning either.

    Raises:
        ManifestError: an entry point cannot be loaded or its manifest is invalid.
    """
    found: list[Manifest] = []
    for ep in entry_points(group=group):
        try:
            value = ep.load()
            if callable(value):
                value = value()
        except Exception as exc:
            raise ManifestError(
                f"entry point {ep.name} ({ep.value}) cannot be loaded: {exc}"
            ) from exc
        if isinstance(value, str | Path):
            found.append(load_manifest(Path(value)))
        else:
            found.append(Manifest.from_dict(value, source=f"entry point {ep.name}"))
    return found

"""Manifests: uidt.toml, dicts, entry points, and a clear error for each mistake."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from uidt.errors import ManifestError
from uidt.packages import manifest as manifest_module
from uidt.packages.manifest import (
    BIND_JOB_SERVICE,
    Manifest,
    ServiceDecl,
    load_manifest,
    manifests_from_entry_points,
)

GOOD = """
package = "org.example.photos"
permissions = ["RUN_USER_INITIATED_JOBS", "RECEIVE_BOOT_COMPLETED"]
notification_receiver = "photos.sync:Actions"
[[services]]
name = "photos.sync:UploadService"
permission = "BIND_JOB_SERVICE"
[[services]]
name = "photos.sync:Helper"
[[channels]]
id = "transfers"
name = "Transfers"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "uidt.toml"
    path.write_text(text)
    return path


def test_a_manifest_file_loads(tmp_path: Path) -> None:
    m = load_manifest(_write(tmp_path, GOOD))
    assert m.package == "org.example.photos"
    assert m.permissions == ("RUN_USER_INITIATED_JOBS", "RECEIVE_BOOT_COMPLETED")
    assert m.python == sys.executable
    assert m.root == str(tmp_path)
    assert m.services[0] == ServiceDecl("photos.sync:UploadService", BIND_JOB_SERVICE)
    assert m.services[0].guarded
    assert m.channels[0].id == "transfers"
    assert m.notification_receiver == "photos.sync:Actions"


def test_a_manifest_without_a_receiver_has_none() -> None:
    m = Manifest.from_dict({"package": "org.example.app"})
    assert m.notification_receiver is None
    assert Manifest.from_dict(m.to_dict()) == m


def test_a_service_without_bind_job_service_is_accepted_but_not_guarded(tmp_path: Path) -> None:
    m = load_manifest(_write(tmp_path, GOOD))
    helper = m.service("photos.sync:Helper")
    assert helper is not None
    assert helper.permission is None
    assert not helper.guarded
    assert m.service("photos.sync:Missing") is None


def test_the_dict_form_round_trips(tmp_path: Path) -> None:
    m = load_manifest(_write(tmp_path, GOOD))
    assert Manifest.from_dict(m.to_dict()) == m


def _error(data: dict[str, Any]) -> str:
    base: dict[str, Any] = {"package": "org.example.app"}
    base.update(data)
    with pytest.raises(ManifestError) as info:
        Manifest.from_dict(base, source="app.toml")
    return str(info.value)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"colour": "red"}, ["app.toml", "unknown key", "'colour'"]),
        ({"package": "photos"}, ["app.toml", "'package'", "'photos'"]),
        ({"package": "org.example.my-app"}, ["'package'"]),
        ({"package": 3}, ["'package'"]),
        ({"permissions": ["CAMERA"]}, ["'permissions'", "unknown permission 'CAMERA'"]),
        ({"permissions": "INTERNET"}, ["'permissions' must be an array of strings"]),
        ({"permissions": ["START_FROM_BACKGROUND"]}, ["granted by the user", "uidt apps grant"]),
        ({"services": {"name": "a:B"}}, ["'services' must be an array"]),
        ({"services": [{"name": "a.b"}]}, ["services[0]", "'module:Class'"]),
        ({"services": [{"name": "a:B:C"}]}, ["services[0]", "'module:Class'"]),
        ({"services": [{"name": "a:B", "perm": "x"}]}, ["services[0]", "unknown key", "'perm'"]),
        ({"services": [{"name": "a:B", "permission": 1}]}, ["services[0]", "'permission'"]),
        ({"services": [{"name": "a:B"}, {"name": "a:B"}]}, ["declared twice"]),
        ({"channels": [{"name": "x"}]}, ["channels[0]", "'id'"]),
        ({"channels": [{"id": "x", "icon": "y"}]}, ["channels[0]", "'icon'"]),
        ({"python": 3}, ["'python'"]),
        ({"notification_receiver": "a.b"}, ["'notification_receiver'", "'module:Class'"]),
        ({"notification_receiver": ["a:B"]}, ["'notification_receiver'", "'module:Class'"]),
    ],
)
def test_each_mistake_has_a_clear_message(data: dict[str, Any], words: list[str]) -> None:
    message = _error(data)
    for word in words:
        assert word in message


def test_a_manifest_must_be_a_table() -> None:
    with pytest.raises(ManifestError, match="table"):
        Manifest.from_dict(["package"], source="x")


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such manifest"):
        load_manifest(tmp_path / "missing.toml")
    bad = _write(tmp_path, "package = ")
    with pytest.raises(ManifestError, match=r"uidt\.toml: not valid TOML"):
        load_manifest(bad)
    unknown = _write(tmp_path, 'package = "org.x.y"\nfoo = 1\n')
    with pytest.raises(ManifestError, match=r"uidt\.toml: unknown key"):
        load_manifest(str(unknown))


def test_importability_is_not_checked_at_install(tmp_path: Path) -> None:
    m = Manifest.from_dict({"package": "org.x.y", "services": [{"name": "nowhere:Nothing"}]})
    assert m.services[0].name == "nowhere:Nothing"


class _EntryPoint:
    def __init__(self, name: str, value: Any) -> None:
        self.name = name
        self.value = f"pkg:{name}"
        self._loaded = value

    def load(self) -> Any:
        if isinstance(self._loaded, Exception):
            raise self._loaded
        return self._loaded


def test_entry_points_give_dicts_paths_or_callables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, GOOD)
    eps = [
        _EntryPoint("dict", {"package": "org.a.b"}),
        _EntryPoint("path", str(path)),
        _EntryPoint("call", lambda: {"package": "org.c.d"}),
    ]
    monkeypatch.setattr(manifest_module, "entry_points", lambda group: eps)
    assert [m.package for m in manifests_from_entry_points()] == [
        "org.a.b",
        "org.example.photos",
        "org.c.d",
    ]


def test_a_broken_entry_point_is_a_manifest_error(monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [_EntryPoint("broken", ImportError("no module"))]
    monkeypatch.setattr(manifest_module, "entry_points", lambda group: eps)
    with pytest.raises(ManifestError, match="entry point broken"):
        manifests_from_entry_points()
    eps = [_EntryPoint("bad", {"package": "nodots"})]
    monkeypatch.setattr(manifest_module, "entry_points", lambda group: eps)
    with pytest.raises(ManifestError, match="entry point bad"):
        manifests_from_entry_points()


def _load_within(path: Path, seconds: float = 10) -> BaseException | Manifest | None:
    """``load_manifest(path)`` in a thread: its result or error, ``None`` if it still blocks."""
    outcome: list[BaseException | Manifest] = []

    def load() -> None:
        try:
            outcome.append(load_manifest(path))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(seconds)
    return outcome[0] if outcome else None


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "uidt.toml"
    os.mkfifo(fifo)
    outcome = _load_within(fifo)
    if outcome is None:  # still blocked in open(): release it before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert isinstance(outcome, ManifestError)
    assert f"{fifo}: not a regular file (a FIFO)" in str(outcome)


@pytest.mark.parametrize(("device", "kind"), [("/dev/zero", "a character device")])
def test_a_device_is_refused_without_reading_it(device: str, kind: str) -> None:
    outcome = _load_within(Path(device))
    assert isinstance(outcome, ManifestError)
    assert f"not a regular file ({kind})" in str(outcome)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not a regular file \\(a folder\\)"):
        load_manifest(tmp_path)


def test_a_manifest_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + "#" * manifest_module.MAX_MANIFEST_BYTES)
    with pytest.raises(ManifestError, match="a manifest may have 65536"):
        load_manifest(path)

"""The runtime's installed apps (``runtime.apps``): install, list, grant, revoke, remove, load."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from uidt.daemon.runtime import Runtime
from uidt.device.fake import FakeDeviceSource
from uidt.errors import InvalidJobError, ManifestError
from uidt.job import JobInfo
from uidt.packages.manifest import load_manifest
from uidt.server import JobSchedulerService
from uidt.settings import Settings
from uidt.store.memory import MemoryJobStore
from uidt.store.record import AppRecord
from uidt.testing import FakeClock

MANIFEST = Path(__file__).parents[1] / "host" / "apps" / "hosttest" / "uidt.toml"
APP = "org.test.host"
SERVICE = "host_app:ModeService"
UIJ = "RUN_USER_INITIATED_JOBS"


class QuietHost:
    """An app host that does nothing it is asked (no worker is ever started here)."""

    async def bind(self, manifest: Any) -> None:
        pass

    async def kill(self, app: str) -> None:
        pass

    async def unbind(self, app: str) -> None:
        pass


def _runtime(store: MemoryJobStore) -> Runtime:
    clock = FakeClock()
    device = FakeDeviceSource()
    service = JobSchedulerService(
        clock=clock, settings=Settings(), device=device.snapshot(), installed_memory_bytes=8 << 30
    )
    runtime = Runtime(service=service, store=store, host=QuietHost(), device=device, clock=clock)
    runtime.load()
    return runtime


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    runtime = _runtime(MemoryJobStore())
    try:
        yield runtime
    finally:
        runtime.store.close()


def test_an_installed_app_is_listed_and_known_to_the_core(runtime: Runtime) -> None:
    answer = runtime.apps.install(load_manifest(MANIFEST))
    assert answer["package"] == APP
    assert [app["package"] for app in runtime.apps.describe()] == [APP]
    assert runtime.apps.require(APP).package == APP
    assert runtime.service.queries.can_run_user_initiated_jobs(APP)


def test_a_revocation_survives_the_app_installing_itself_again(runtime: Runtime) -> None:
    runtime.apps.install(load_manifest(MANIFEST))
    runtime.apps.set_permission(APP, UIJ, granted=False)
    assert not runtime.service.queries.can_run_user_initiated_jobs(APP)
    runtime.apps.install(load_manifest(MANIFEST))  # the app wants its permission back
    (app,) = runtime.apps.describe()
    assert app["revoked"] == [UIJ]
    assert not runtime.service.queries.can_run_user_initiated_jobs(APP)
    runtime.apps.set_permission(APP, UIJ, granted=True)
    assert runtime.service.queries.can_run_user_initiated_jobs(APP)
    assert runtime.apps.describe()[0]["revoked"] == []


def test_verbs_on_an_app_that_is_not_installed_raise_and_change_nothing(runtime: Runtime) -> None:
    runtime.apps.install(load_manifest(MANIFEST))
    before = runtime.apps.describe()
    with pytest.raises(InvalidJobError, match=r"No such app: org\.other"):
        runtime.apps.remove("org.other")
    with pytest.raises(InvalidJobError, match="uidt apps install"):
        runtime.apps.set_permission("org.other", UIJ, granted=True)
    with pytest.raises(InvalidJobError):
        runtime.open_activity("org.other", None)
    assert runtime.apps.get("org.other") is None
    assert runtime.apps.describe() == before


async def test_a_removed_app_loses_its_jobs_and_its_record(runtime: Runtime) -> None:
    runtime.apps.install(load_manifest(MANIFEST))
    job = JobInfo.Builder(1, SERVICE).build()
    runtime.schedule(APP, None, job, None, peer_pid=None)
    runtime.apps.remove(APP)
    assert runtime.apps.describe() == []
    assert runtime.jobs_snapshot(APP, include_finished=False) == []
    with pytest.raises(InvalidJobError):
        runtime.schedule(APP, None, job, None, peer_pid=None)


def test_an_invalid_manifest_file_installs_nothing(runtime: Runtime, tmp_path: Path) -> None:
    bad = tmp_path / "uidt.toml"
    bad.write_text('package = "org.bad"\n[[services]]\nname = 42\n')
    with pytest.raises(ManifestError):
        runtime.apps.install_file(str(bad))
    assert runtime.apps.describe() == []
    assert runtime.apps.get("org.bad") is None


def test_load_skips_a_stored_app_whose_manifest_is_unreadable() -> None:
    store = MemoryJobStore()
    store.put_app(AppRecord(package="org.planted", manifest={"package": 7}))
    good = load_manifest(MANIFEST)
    store.put_app(AppRecord(package=APP, manifest=good.to_dict(), revoked=frozenset({UIJ})))
    runtime = _runtime(store)
    try:
        assert runtime.apps.get("org.planted") is None
        assert runtime.apps.require(APP) == good
        assert not runtime.service.queries.can_run_user_initiated_jobs(APP)  # revocation kept
    finally:
        runtime.store.close()


BG = "RUN_ANY_IN_BACKGROUND"


def test_restricting_is_revoking_the_app_op_and_survives_a_restart() -> None:
    store = MemoryJobStore()
    runtime = _runtime(store)
    runtime.apps.install(load_manifest(MANIFEST))
    runtime.apps.set_permission(APP, BG, granted=False)
    (app,) = runtime.apps.describe()
    assert app["revoked"] == [BG]
    assert app["background_restricted"] is True
    assert runtime.service.registry.is_background_restricted(APP)
    assert runtime.dump()["apps"]["background_restricted"] == [APP]
    # a new daemon over the same store: the restriction is still there
    runtime.store.flush()
    again = _runtime(store)
    assert again.service.registry.is_background_restricted(APP)
    # granting an app-op allowed by default only lifts the revocation (no grant is recorded)
    again.apps.set_permission(APP, BG, granted=True)
    (app,) = again.apps.describe()
    assert (app["granted"], app["revoked"], app["background_restricted"]) == ([], [], False)
    assert not again.service.registry.is_background_restricted(APP)
    again.store.close()
    runtime.store.close()


def test_an_unknown_permission_name_is_refused_and_nothing_changes(runtime: Runtime) -> None:
    runtime.apps.install(load_manifest(MANIFEST))
    before = runtime.apps.describe()
    with pytest.raises(InvalidJobError, match="Unknown permission 'RUN_ANY_IN_BACKGROUN'"):
        runtime.apps.set_permission(APP, "RUN_ANY_IN_BACKGROUN", granted=False)
    assert runtime.apps.describe() == before
    assert not runtime.service.registry.is_background_restricted(APP)


def test_restricting_an_app_that_is_not_installed_changes_nothing(runtime: Runtime) -> None:
    runtime.apps.install(load_manifest(MANIFEST))
    before = runtime.apps.describe()
    with pytest.raises(InvalidJobError, match=r"No such app: org\.other"):
        runtime.apps.set_permission("org.other", BG, granted=False)
    assert runtime.apps.describe() == before

"""The app registry: installed apps, visibility, the grace period and Task Manager stops."""

from __future__ import annotations

from server.helpers import APP, make_app
from uidt.server.registry import AppRegistry


def test_visibility_and_grace() -> None:
    registry = AppRegistry({APP: make_app()}, visible_grace_ms=100)
    assert not registry.has_bal_privilege(APP, 0)
    assert registry.set_visible(APP, True, 10)
    assert registry.has_bal_privilege(APP, 10_000)  # visible: no end
    assert registry.set_visible(APP, False, 50)
    assert not registry.set_visible(APP, False, 60)  # nothing changed
    assert registry.has_bal_privilege(APP, 150)
    assert not registry.has_bal_privilege(APP, 151)


def test_a_user_stop_is_lifted_by_visibility_or_interaction() -> None:
    registry = AppRegistry({APP: make_app()}, visible_grace_ms=0)
    registry.stop_by_user(APP)
    assert registry.is_user_stopped(APP)
    registry.set_visible(APP, True, 1)
    assert not registry.is_user_stopped(APP)
    registry.stop_by_user(APP)
    registry.note_user_interaction(APP, 2)
    assert not registry.is_user_stopped(APP)


def test_install_uninstall_and_grants() -> None:
    registry = AppRegistry(None, visible_grace_ms=0)
    assert APP not in registry
    assert not registry.can_run_user_initiated_jobs(APP)
    registry.install(make_app())
    assert registry.can_run_user_initiated_jobs(APP)
    registry.install(make_app(revoked=frozenset({"RUN_USER_INITIATED_JOBS"})))
    assert not registry.can_run_user_initiated_jobs(APP)
    assert not registry.may_start_from_background(APP)
    registry.install(make_app(granted=frozenset({"START_FROM_BACKGROUND"})))
    assert registry.may_start_from_background(APP)
    registry.uninstall(APP)
    registry.uninstall(APP)
    assert list(registry) == []
    assert dict(registry.apps) == {}

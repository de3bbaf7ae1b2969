"""The contract every :class:`~uidt.store.base.JobStore` must pass, as a pytest test class.

Use it by subclassing :class:`JobStoreContract` in a test module and providing a
``store_factory`` fixture that returns a :class:`StoreFactory`::

    class TestMyStore(JobStoreContract):
        @pytest.fixture
        def store_factory(self, tmp_path):
            return StoreFactory("mine", lambda: MyStore(tmp_path / "db"), survives_reopen=True)

``StoreFactory.open()`` must open the *same* store each time it is called (a reopen after
``close()``); tests that need a reopen are skipped when ``survives_reopen`` is false.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import pytest

from uidt.device.history import DeviceReading
from uidt.device.state import DeviceState, NetworkState
from uidt.job.flags import INTERNAL_FLAG_DEMOTED_BY_USER
from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.store.base import JobStore
from uidt.store.record import AppRecord, JobRecord, NotificationRecord


@runtime_checkable
class InspectableStore(JobStore, Protocol):
    """A :class:`~uidt.store.base.JobStore` with the reads the contract looks inside with.

    The daemon never calls these (so they are not in ``JobStore``); every store offers them so
    that its behaviour can be checked.
    """

    def get_job(self, key: JobKey) -> JobRecord | None:
        """The job with that key (persisted or not), or ``None``."""
        ...

    def jobs(self) -> list[JobRecord]:
        """Every job (persisted or not), ordered by key."""
        ...

    def count_for_app(self, app: str) -> int:
        """How many jobs the app has, in all namespaces."""
        ...

    def notifications(self) -> list[NotificationRecord]:
        """Every notification, ordered by (app, id)."""
        ...


@dataclass(frozen=True)
class StoreFactory:
    """How the contract opens a store under test.

    Attributes:
        name: shown in test ids and messages.
        open: opens the store; calling it again after ``close()`` reopens the same store.
        survives_reopen: whether persisted data is still there after close + open.
    """

    name: str
    open: Callable[[], InspectableStore]
    survives_reopen: bool


def make_record(
    app: str = "com.example",
    job_id: int = 1,
    namespace: str | None = None,
    *,
    persisted: bool = True,
    **fields: Any,
) -> JobRecord:
    """A job record with a simple ``JobInfo``; ``fields`` set other ``JobRecord`` fields."""
    info = (
        JobInfo.Builder(job_id, "example_app.transfers:TransferService")
        .set_persisted(persisted)
        .set_extras({"url": f"https://example.org/{job_id}"})
        .build()
    )
    return JobRecord(key=JobKey(app, namespace, job_id), job=info, **fields)


def make_app(package: str = "com.example") -> AppRecord:
    """An app record with a small manifest."""
    return AppRecord(
        package=package,
        manifest={"package": package, "permissions": ["RUN_USER_INITIATED_JOBS"]},
        granted=frozenset({"POST_NOTIFICATIONS"}),
        revoked=frozenset({"RUN_USER_INITIATED_JOBS"}),
        installed_utc_ms=1_700_000_000_000,
        channels={"later": "Created at run time"},
    )


def make_notification(app: str = "com.example", notification_id: int = 1) -> NotificationRecord:
    """A notification record attached to job 1 of ``app``."""
    return NotificationRecord(
        app=app,
        notification_id=notification_id,
        notification={"title": "Downloading", "progress": [1, 10]},
        job=JobKey(app, None, 1),
        user_initiated_job=True,
        updated_utc_ms=1_700_000_000_500,
    )


def make_reading(at_utc_ms: int, battery: int = 80, *, network: bool = True) -> DeviceReading:
    """A device reading at ``at_utc_ms`` (Wi-Fi or no network, on battery at ``battery`` %)."""
    state = DeviceState(
        network=NetworkState() if network else None,
        battery_level=battery,
        plugged=False,
        charging=False,
    )
    return DeviceReading.of(state, at_utc_ms)


def _keys(records: list[JobRecord]) -> list[JobKey]:
    return [r.key for r in records]


class JobStoreContract:
    """Behaviour every store shares; subclass it and provide a ``store_factory`` fixture."""

    @pytest.fixture
    def store(self, store_factory: StoreFactory) -> Iterator[InspectableStore]:
        """A freshly opened store, closed after the test."""
        with store_factory.open() as store:
            yield store

    @contextmanager
    def reopened(
        self, store: InspectableStore, factory: StoreFactory
    ) -> Iterator[InspectableStore]:
        """Close ``store`` and open it again (skips when the store does not survive reopen)."""
        if not factory.survives_reopen:
            pytest.skip(f"{factory.name} does not survive a reopen")
        store.close()
        with factory.open() as again:
            yield again

    # -- jobs -----------------------------------------------------------------------------

    def test_put_then_get_round_trips(self, store: InspectableStore) -> None:
        record = make_record(history=[{"time": 1, "state": "pending", "reason": "x"}])
        volatile = make_record(job_id=2, persisted=False, extra={"bytes": 5})
        store.put_job(record)
        store.put_job(volatile)
        assert store.get_job(record.key) == record
        assert store.get_job(volatile.key) == volatile
        assert store.get_job(JobKey("com.example", None, 3)) is None

    def test_put_replaces_by_key(self, store: InspectableStore) -> None:
        store.put_job(make_record(num_failures=1))
        replacement = make_record(num_failures=7, enqueue_time_utc_ms=99)
        store.put_job(replacement)
        assert store.jobs() == [replacement]

    def test_persisted_and_volatile_replace_each_other(self, store: InspectableStore) -> None:
        store.put_job(make_record(persisted=True))
        store.put_job(make_record(persisted=False))
        assert [r.persisted for r in store.jobs()] == [False]
        assert store.load_jobs() == []
        store.put_job(make_record(persisted=True))
        assert [r.persisted for r in store.jobs()] == [True]

    def test_remove_job(self, store: InspectableStore) -> None:
        store.put_job(make_record(job_id=1))
        store.put_job(make_record(job_id=2, persisted=False))
        assert store.remove_job(JobKey("com.example", None, 1)) is True
        assert store.remove_job(JobKey("com.example", None, 2)) is True
        assert store.remove_job(JobKey("com.example", None, 1)) is False
        assert store.jobs() == []

    def test_jobs_are_listed_by_app_namespace_and_id(self, store: InspectableStore) -> None:
        for app, ns, job_id in [("b", None, 1), ("a", "ns", 2), ("a", None, 3), ("a", None, 1)]:
            store.put_job(make_record(app, job_id, ns, persisted=job_id != 3))
        a = [JobKey("a", None, 1), JobKey("a", None, 3), JobKey("a", "ns", 2)]
        assert _keys(store.jobs()) == [*a, JobKey("b", None, 1)]

    def test_count_for_app(self, store: InspectableStore) -> None:
        for job_id in range(5):
            store.put_job(make_record("a", job_id, "ns" if job_id % 2 else None))
        store.put_job(make_record("a", 9, persisted=False))
        store.put_job(make_record("b", 1))
        store.put_job(make_record("a", 0))  # a replacement does not count twice
        assert store.count_for_app("a") == 6
        assert store.count_for_app("b") == 1
        assert store.count_for_app("c") == 0

    def test_records_are_copies(self, store: InspectableStore) -> None:
        record = make_record(extra={"n": 1})
        store.put_job(record)
        record.extra["n"] = 2
        got = store.get_job(record.key)
        assert got is not None
        assert got.extra == {"n": 1}
        got.extra["n"] = 3
        assert store.jobs()[0].extra == {"n": 1}

    def test_load_jobs_resets_failure_counters_and_keeps_the_rest(
        self, store: InspectableStore
    ) -> None:
        kept: dict[str, Any] = {
            "cumulative_runtime_ms": 12_345,
            "internal_flags": INTERNAL_FLAG_DEMOTED_BY_USER,
            "earliest_run_time_utc_ms": 1_700_000_000_000,
            "last_stop_reason": 10,
            "history": [{"time": 1, "state": "stopped", "reason": "user"}],
            "extra": {"done": 10},
        }
        store.put_job(make_record(num_failures=3, num_system_stops=2, **kept))
        store.put_job(make_record(job_id=2, persisted=False))
        (loaded,) = store.load_jobs()
        assert (loaded.num_failures, loaded.num_system_stops) == (0, 0)
        assert loaded == make_record(**kept)

    # -- apps, notifications, metadata ----------------------------------------------------

    def test_apps(self, store: InspectableStore) -> None:
        store.put_app(make_app("b"))
        store.put_app(make_app("a"))
        replaced = make_app("a")
        replaced.granted = frozenset({"RUN_USER_INITIATED_JOBS"})
        store.put_app(replaced)
        assert store.get_app("a") == replaced
        assert store.get_app("c") is None
        assert [a.package for a in store.apps()] == ["a", "b"]

    def test_remove_app_removes_its_jobs_and_notifications(self, store: InspectableStore) -> None:
        for app in ("a", "b"):
            store.put_app(make_app(app))
            store.put_job(make_record(app, 1))
            store.put_job(make_record(app, 2, "ns", persisted=False))
            store.put_notification(make_notification(app))
        assert store.remove_app("a") is True
        assert store.remove_app("a") is False
        assert [a.package for a in store.apps()] == ["b"]
        assert {r.key.app for r in store.jobs()} == {"b"}
        assert store.count_for_app("a") == 0
        assert [n.app for n in store.notifications()] == ["b"]

    def test_notifications(self, store: InspectableStore) -> None:
        store.put_notification(make_notification("a", 2))
        store.put_notification(make_notification("a", 1))
        detached = make_notification("a", 2)
        detached.job = None
        store.put_notification(detached)
        assert store.notifications() == [make_notification("a", 1), detached]
        assert store.remove_notification("a", 1) is True
        assert store.remove_notification("a", 1) is False
        assert store.notifications() == [detached]

    def test_notifications_are_loaded_back_after_a_reopen(
        self, store: InspectableStore, store_factory: StoreFactory
    ) -> None:
        detached = make_notification("a", 2)
        detached.job = None
        store.put_notification(make_notification("a", 1))
        store.put_notification(detached)
        with self.reopened(store, store_factory) as again:
            assert again.load_notifications() == [make_notification("a", 1), detached]

    def test_close_is_idempotent(self, store_factory: StoreFactory) -> None:
        store = store_factory.open()
        with store:
            store.put_job(make_record())
        store.close()

    # -- reopen ---------------------------------------------------------------------------

    def test_reopen_keeps_persisted_and_drops_volatile(
        self, store: InspectableStore, store_factory: StoreFactory
    ) -> None:
        store.put_job(make_record(job_id=1, num_failures=4, num_system_stops=1, internal_flags=2))
        store.put_job(make_record(job_id=2, persisted=False))
        store.put_job(make_record(job_id=3))
        store.remove_job(JobKey("com.example", None, 3))
        stamped = make_record(
            job_id=1,
            num_failures=4,
            num_system_stops=1,
            internal_flags=2,
            cumulative_runtime_ms=500,
        )
        store.put_job(stamped)  # the daemon's runtime stamp replaces the record
        with self.reopened(store, store_factory) as again:
            (loaded,) = again.load_jobs()
            assert loaded == make_record(job_id=1, internal_flags=2, cumulative_runtime_ms=500)
            assert _keys(again.jobs()) == [JobKey("com.example", None, 1)]
            assert again.count_for_app("com.example") == 1

    def test_reopen_forgets_a_persisted_job_replaced_by_a_volatile_one(
        self, store: InspectableStore, store_factory: StoreFactory
    ) -> None:
        store.put_job(make_record(persisted=True))
        store.put_job(make_record(persisted=False))
        with self.reopened(store, store_factory) as again:
            assert again.load_jobs() == []

    def test_reopen_keeps_apps_and_notifications(
        self, store: InspectableStore, store_factory: StoreFactory
    ) -> None:
        store.put_app(make_app("a"))
        store.put_notification(make_notification("a"))
        with self.reopened(store, store_factory) as again:
            assert again.apps() == [make_app("a")]
            assert again.notifications() == [make_notification("a")]

    # -- device readings ------------------------------------------------------------------

    def test_device_readings_append_in_order(self, store: InspectableStore) -> None:
        assert store.device_readings() == []
        store.add_device_readings([make_reading(1), make_reading(2, network=False)], 0, 100)
        store.add_device_readings([make_reading(3, 50)], 0, 100)
        assert store.device_readings() == [
            make_reading(1),
            make_reading(2, network=False),
            make_reading(3, 50),
        ]

    def test_device_readings_pruned_by_age_keep_the_state_at_the_window_start(
        self, store: InspectableStore
    ) -> None:
        store.add_device_readings([make_reading(t) for t in (10, 20, 30, 40)], 0, 100)
        store.add_device_readings([make_reading(50)], 35, 100)
        # 30 is older than the window but says what the device was at 35: kept
        assert [r.at_utc_ms for r in store.device_readings()] == [30, 40, 50]

    def test_device_readings_pruned_by_count(self, store: InspectableStore) -> None:
        store.add_device_readings([make_reading(t) for t in range(1, 8)], 0, 3)
        assert [r.at_utc_ms for r in store.device_readings()] == [5, 6, 7]
        store.add_device_readings([make_reading(8)], 0, 0)
        assert store.device_readings() == []

    def test_device_readings_survive_a_reopen(
        self, store: InspectableStore, store_factory: StoreFactory
    ) -> None:
        store.add_device_readings([make_reading(1), make_reading(2, 30)], 0, 10)
        with self.reopened(store, store_factory) as again:
            assert again.device_readings() == [make_reading(1), make_reading(2, 30)]

"""Runs the store contract against every backend: memory, SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from uidt.store.memory import MemoryJobStore
from uidt.store.postgres import PostgresJobStore
from uidt.store.sqlite import SqliteJobStore
from uidt.testing.store_contract import JobStoreContract, StoreFactory


class TestMemoryStore(JobStoreContract):
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return StoreFactory("memory", MemoryJobStore, survives_reopen=False)


class TestSqliteStore(JobStoreContract):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        path = tmp_path / "uidt.db"
        return StoreFactory("sqlite", lambda: SqliteJobStore(path), survives_reopen=True)


@pytest.mark.postgres
class TestPostgresStore(JobStoreContract):
    @pytest.fixture
    def store_factory(self, postgres_url: str) -> StoreFactory:
        return StoreFactory(
            "postgresql",
            lambda: PostgresJobStore(postgres_url, host_id="contract-host"),
            survives_reopen=True,
        )

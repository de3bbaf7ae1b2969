"""Shared test fixtures."""

from __future__ import annotations

import os

import pytest

#: Variables that configure the test run itself (e.g. ``UIDT_TEST_POSTGRES_DSN``) are kept.
TEST_CONFIGURATION_PREFIX = "UIDT_TEST_"


@pytest.fixture(autouse=True)
def _clean_uidt_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without the developer's ``UIDT_*`` settings (``UIDT_HOME``, ...)."""
    for name in list(os.environ):
        if name.startswith("UIDT_") and not name.startswith(TEST_CONFIGURATION_PREFIX):
            monkeypatch.delenv(name)

"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Variables that configure the test run itself (e.g. ``UIDT_TEST_POSTGRES_DSN``) are kept.
TEST_CONFIGURATION_PREFIX = "UIDT_TEST_"


@pytest.fixture(autouse=True)
def _clean_uidt_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without the developer's ``UIDT_*`` settings (``UIDT_HOME``, ...)."""
    for name in list(os.environ):
        if name.startswith("UIDT_") and not name.startswith(TEST_CONFIGURATION_PREFIX):
            monkeypatch.delenv(name)


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``XDG_CONFIG_HOME`` and the systemd user unit directory in ``tmp_path`` (no user manager
    runs: ``uidt service`` falls back as it would; tests/autostart adds a stand-in manager)."""
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("UIDT_SYSTEMD_USER_DIR", str(config / "systemd" / "user"))
    monkeypatch.setenv("UIDT_SYSTEMCTL", "")
    return config

"""Shared test fixtures."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_uidt_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without ``UIDT_*`` variables from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("UIDT_"):
            monkeypatch.delenv(name)

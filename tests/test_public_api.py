"""``uidt.__all__`` is sorted, resolvable, and exports every name the public interface promises."""

from __future__ import annotations

import importlib
import importlib.util
import re

import pytest

import uidt

#: The names the public interface promises (``from uidt import (...)``), written out here so the
#: test depends on nothing outside the repository.
PROMISED = [
    "JobInfo",
    "NetworkRequest",
    "NetCapability",
    "Transport",
    "NetworkType",
    "BackoffPolicy",
    "Priority",
    "JobScheduler",
    "JobService",
    "JobParameters",
    "JobWorkItem",
    "Notification",
    "StopReason",
    "InternalStopReason",
    "PendingReason",
    "UidtError",
]

#: Names other parts of uidt provide: required once the module defining them exists.
PROVIDED_LATER = {
    "JobScheduler": "uidt.app.scheduler",
    "JobService": "uidt.app.service",
}


def _defined_in(module_name: str, name: str) -> bool:
    if importlib.util.find_spec(module_name) is None:
        return False
    return hasattr(importlib.import_module(module_name), name)


def test_all_is_sorted_and_unique() -> None:
    assert list(uidt.__all__) == sorted(set(uidt.__all__))


def test_every_name_in_all_exists() -> None:
    missing = [name for name in uidt.__all__ if not hasattr(uidt, name)]
    assert missing == []


@pytest.mark.parametrize("name", [n for n in PROMISED if n not in PROVIDED_LATER])
def test_promised_name_is_exported(name: str) -> None:
    assert name in uidt.__all__
    assert getattr(uidt, name) is not None


@pytest.mark.parametrize("name", sorted(PROVIDED_LATER))
def test_name_provided_later_is_exported_once_implemented(name: str) -> None:
    module_name = PROVIDED_LATER[name]
    if not _defined_in(module_name, name):
        pending = sorted(n for n, m in PROVIDED_LATER.items() if not _defined_in(m, n))
        pytest.skip(f"not implemented yet ({module_name}.{name}); pending: {', '.join(pending)}")
    assert name in uidt.__all__
    assert getattr(uidt, name) is getattr(importlib.import_module(module_name), name)


def test_version_is_a_string() -> None:
    assert isinstance(uidt.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", uidt.__version__)

"""``uidt.__all__`` is sorted, resolvable, and exports every name interface.md promises."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

import uidt

INTERFACE_MD = Path("/work/shared/spec/interface.md")

#: The ``from uidt import (...)`` list of interface.md, kept here so the test runs on any machine.
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


def test_promised_list_matches_interface_md() -> None:
    if not INTERFACE_MD.exists():
        pytest.skip("interface.md is not on this machine")
    block = re.search(r"from uidt import \((.*?)\)", INTERFACE_MD.read_text(), re.DOTALL)
    assert block is not None
    names = [n.strip() for n in block.group(1).replace("\n", " ").split(",") if n.strip()]
    assert sorted(names) == sorted(PROMISED)


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

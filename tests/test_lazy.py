"""lazy_attributes: a package's public names imported on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from uidt.lazy import lazy_attributes


def test_a_listed_name_comes_from_its_home_module() -> None:
    getattr_ = lazy_attributes("pkg", {"JSONDecodeError": "json"})
    import json

    assert getattr_("JSONDecodeError") is json.JSONDecodeError


def test_an_unlisted_name_is_an_attribute_error() -> None:
    getattr_ = lazy_attributes("pkg", {})
    with pytest.raises(AttributeError, match="module 'pkg' has no attribute 'Nope'"):
        getattr_("Nope")


def test_importing_uidt_loads_no_public_api_module_until_a_name_is_used() -> None:
    code = (
        "import sys, uidt; assert 'uidt.app.scheduler' not in sys.modules; "
        "uidt.JobScheduler; assert 'uidt.app.scheduler' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

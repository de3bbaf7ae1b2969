"""Fixture trees under ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

import pytest

from .tree import add_interface, route_line, set_meminfo, set_psi, set_routes


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty fixture root with eth0 as default route and calm PSI."""
    tree = tmp_path / "root"
    add_interface(tree, "eth0")
    set_routes(tree, route_line("eth0", "00000000", 0))
    set_psi(tree, 0.0, 0.0)
    set_meminfo(tree, 1000, 900)
    return tree

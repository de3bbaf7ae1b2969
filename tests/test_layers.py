"""The packages of ``uidt`` import downwards only: no cycle, and the app side never reaches up.

docs/design.md §4 draws the layers; this test keeps the code and the drawing in agreement.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from pathlib import Path

import uidt
from uidt.job import flags

ROOT = Path(uidt.__file__).parent

#: Packages an app's process imports: they may not import the daemon's side.
APP_SIDE = {"app", "job", "packages", "home"}
#: The daemon's side, which the app side talks to over the socket only.
DAEMON_SIDE = {"daemon", "host", "server", "store", "web", "cli", "notify", "device"}
#: The floor: imports nothing of uidt but the floor itself.
FLOOR = {"errors", "job", "packages", "home"}


def _part(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    return rel[0] if len(rel) > 1 else rel[0].removesuffix(".py")


@functools.cache
def _parsed() -> tuple[tuple[Path, ast.Module], ...]:
    """Every module of uidt, parsed once for the whole file (each test only reads the trees)."""
    return tuple((path, ast.parse(path.read_text(encoding="utf-8"))) for path in ROOT.rglob("*.py"))


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """Package → the other packages (or top-level modules) of uidt it imports (built once for
    the file: the tests only read it)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path, tree in _parsed():
        here = _part(path)
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "uidt" and len(parts) > 1 and parts[1] != here:
                    edges[here].add(parts[1])
    return edges


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), set()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_cycle_between_packages() -> None:
    edges = import_graph()
    assert [p for p in sorted(edges) if p in _reachable(edges, p)] == []


def test_the_app_side_never_imports_the_daemon_side() -> None:
    edges = import_graph()
    reached = {p: _reachable(edges, p) & DAEMON_SIDE for p in sorted(APP_SIDE)}
    assert reached == {p: set() for p in sorted(APP_SIDE)}


def test_the_floor_imports_only_the_floor() -> None:
    edges = import_graph()
    allowed = FLOOR | {"lazy"}
    assert {p: edges.get(p, set()) - allowed for p in sorted(FLOOR)} == {
        p: set() for p in sorted(FLOOR)
    }


def test_job_identity_and_flags_come_from_job_not_the_store() -> None:
    moved = {"JobKey"} | {n for n in dir(flags) if n.startswith("INTERNAL_FLAG_")}
    found = []
    for path, tree in _parsed():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("uidt.store"):
                found += [f"{path.name}: {a.name}" for a in node.names if a.name in moved]
    assert found == []

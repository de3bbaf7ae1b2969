"""How big the scheduler core's classes are: public methods and mutable attributes per class.

The redesign's aim (issue 21) is no class in ``uidt.server`` with more than about 25 public
methods or 12 mutable attributes. Public methods include inherited ones (from uidt classes) and
leave out properties (read-only views). A mutable attribute is an instance attribute that is
re-bound after ``__init__`` or holds a builtin container (dict, set, list, deque) directly; a part
object the class delegates to is not one. Dataclass fields are reported apart (records, like
Android's ``JobStatus``).

Run: ``python -m bench structure`` (or ``python -m bench.structure [PACKAGE_DIR]``).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

_CONTAINERS = {"dict", "set", "list", "deque", "defaultdict", "OrderedDict", "Counter"}


@dataclass
class ClassInfo:
    """What one class defines itself."""

    name: str
    bases: list[str]
    methods: set[str] = field(default_factory=set)
    properties: set[str] = field(default_factory=set)
    attributes: set[str] = field(default_factory=set)
    rebound: set[str] = field(default_factory=set)
    containers: set[str] = field(default_factory=set)
    fields: int = 0
    is_dataclass: bool = False


def _is_container(node: ast.expr | None) -> bool:
    if isinstance(node, ast.Dict | ast.Set | ast.List | ast.DictComp | ast.SetComp | ast.ListComp):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in _CONTAINERS
    return False


def _self_targets(node: ast.AST) -> list[tuple[str, ast.expr | None]]:
    found: list[tuple[str, ast.expr | None]] = []
    for sub in ast.walk(node):
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(sub, ast.Assign):
            targets, value = sub.targets, sub.value
        elif isinstance(sub, ast.AnnAssign | ast.AugAssign):
            targets, value = [sub.target], sub.value
        for target in targets:
            elts = target.elts if isinstance(target, ast.Tuple) else [target]
            for elt in elts:
                if (
                    isinstance(elt, ast.Attribute)
                    and isinstance(elt.value, ast.Name)
                    and elt.value.id == "self"
                ):
                    found.append((elt.attr, value if len(elts) == 1 else None))
    return found


def collect(root: Path) -> dict[str, ClassInfo]:
    """Every class under ``root`` by name."""
    classes: dict[str, ClassInfo] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            info = ClassInfo(node.name, [b.id for b in node.bases if isinstance(b, ast.Name)])
            info.is_dataclass = any("dataclass" in ast.unparse(d) for d in node.decorator_list)
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and info.is_dataclass:
                    info.fields += 1
                if not isinstance(item, ast.FunctionDef):
                    continue
                decorators = {ast.unparse(d) for d in item.decorator_list}
                if "property" in decorators:
                    info.properties.add(item.name)
                elif not item.name.startswith("_"):
                    info.methods.add(item.name)
                for name, value in _self_targets(item):
                    info.attributes.add(name)
                    if item.name != "__init__":
                        info.rebound.add(name)
                    elif _is_container(value):
                        info.containers.add(name)
            classes[node.name] = info
    return classes


def _mro(name: str, classes: dict[str, ClassInfo]) -> list[ClassInfo]:
    info = classes.get(name)
    if info is None:
        return []
    chain = [info]
    for base in info.bases:
        chain += _mro(base, classes)
    return chain


def measure(root: Path) -> list[tuple[str, int, int, int]]:
    """``(class, public methods, mutable attributes, dataclass fields)`` per class, biggest first."""
    classes = collect(root)
    rows = []
    for name in classes:
        chain = _mro(name, classes)
        methods = set().union(*(c.methods for c in chain))
        attributes = set().union(*(c.attributes for c in chain))
        mutable = {a for a in attributes if any(a in c.rebound or a in c.containers for c in chain)}
        rows.append((name, len(methods), len(mutable), sum(c.fields for c in chain)))
    rows.sort(key=lambda row: (-row[1], -row[2], row[0]))
    return rows


def main(argv: list[str] | None = None) -> None:
    """Print the table."""
    args = [a for a in (sys.argv[1:] if argv is None else argv) if Path(a).is_dir()]
    root = Path(args[0]) if args else Path(__file__).parent.parent / "src" / "uidt" / "server"
    print(f"{'class':32} {'public methods':>15} {'mutable attrs':>14} {'fields':>7}")
    for name, methods, mutable, fields in measure(root):
        if methods or mutable or fields:
            print(f"{name:32} {methods:15d} {mutable:14d} {fields:7d}")


if __name__ == "__main__":
    main()

"""How big uidt's classes are: public methods and mutable attributes per class.

The aim (issue 21) is no class with more than about 25 public methods or 12 mutable attributes;
``tests/test_structure.py`` holds every class of ``src/uidt`` to it, with a short allow-list.

The rules:

* **Public methods**: functions defined in the class body (``def`` or ``async def``, static and
  class methods included) whose name does not start with ``_``, plus those the class inherits
  from its uidt base classes (a facade built by inheritance counts whole). Properties (and their
  setters), which read like attributes, are not methods; ``@overload`` stubs count once.
* **Mutable attributes**: instance attributes (``self.<name>`` assigned anywhere in the class or
  its uidt bases) that are re-bound after ``__init__`` or hold a builtin container (dict, set,
  list, deque …) assigned in ``__init__``. An attribute bound once to a part object the class
  delegates to (a ``PendingQueue``, a ``Settings``) is not one: that part owns its own state.
* Dataclass fields are reported apart (records, like Android's ``JobStatus``), not counted.

Classes are named ``module:Class`` (``uidt.server.service:JobSchedulerService``); a base class is
looked up by name in its own module first, then anywhere under the root.

Run: ``python -m bench structure`` (or ``python -m bench.structure [PACKAGE_DIR]``; default
``src/uidt``).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

_CONTAINERS = {"dict", "set", "list", "deque", "defaultdict", "OrderedDict", "Counter", "bytearray"}
_PROPERTY_DECORATORS = {"property", "cached_property", "functools.cached_property"}

#: The aim: no class above these (issue 21's "Done when").
MAX_PUBLIC_METHODS = 25
MAX_MUTABLE_ATTRIBUTES = 12


@dataclass
class ClassInfo:
    """What one class defines itself."""

    module: str
    name: str
    bases: list[str]
    methods: set[str] = field(default_factory=set)
    attributes: set[str] = field(default_factory=set)
    rebound: set[str] = field(default_factory=set)
    containers: set[str] = field(default_factory=set)
    fields: int = 0

    @property
    def qualname(self) -> str:
        return f"{self.module}:{self.name}"


@dataclass(frozen=True)
class Row:
    """One class's figures (its uidt bases included)."""

    qualname: str
    public_methods: int
    mutable_attributes: int
    dataclass_fields: int

    @property
    def over(self) -> bool:
        """Above the aim in either figure."""
        return (
            self.public_methods > MAX_PUBLIC_METHODS
            or self.mutable_attributes > MAX_MUTABLE_ATTRIBUTES
        )


def _is_container(node: ast.expr | None) -> bool:
    if isinstance(node, ast.Dict | ast.Set | ast.List | ast.DictComp | ast.SetComp | ast.ListComp):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in _CONTAINERS
    return False


def _is_property(item: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in item.decorator_list:
        text = ast.unparse(decorator)
        if text in _PROPERTY_DECORATORS or text.endswith((".setter", ".getter", ".deleter")):
            return True
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


def _base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Subscript):  # Generic[T], Protocol[T]
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _class_info(module: str, node: ast.ClassDef) -> ClassInfo:
    bases = [name for b in node.bases if (name := _base_name(b)) is not None]
    info = ClassInfo(module, node.name, bases)
    is_dataclass = any("dataclass" in ast.unparse(d) for d in node.decorator_list)
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and is_dataclass:
            info.fields += 1
        if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not _is_property(item) and not item.name.startswith("_"):
            info.methods.add(item.name)
        for name, value in _self_targets(item):
            info.attributes.add(name)
            if item.name != "__init__":
                info.rebound.add(name)
            elif _is_container(value):
                info.containers.add(name)
    return info


def collect(root: Path) -> dict[str, ClassInfo]:
    """Every class under the package directory ``root`` by ``module:Class``."""
    classes: dict[str, ClassInfo] = {}
    for path in sorted(root.rglob("*.py")):
        module = _module_name(root, path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                info = _class_info(module, node)
                classes.setdefault(info.qualname, info)
    return classes


def _chain(
    info: ClassInfo, classes: dict[str, ClassInfo], by_name: dict[str, list[ClassInfo]]
) -> list[ClassInfo]:
    chain, todo, seen = [], [info], set()
    while todo:
        current = todo.pop()
        if current.qualname in seen:
            continue
        seen.add(current.qualname)
        chain.append(current)
        for base in current.bases:
            local = classes.get(f"{current.module}:{base}")
            todo += [local] if local is not None else by_name.get(base, [])[:1]
    return chain


def measure(root: Path) -> list[Row]:
    """The figures of every class under ``root``, biggest first."""
    classes = collect(root)
    by_name: dict[str, list[ClassInfo]] = {}
    for info in classes.values():
        by_name.setdefault(info.name, []).append(info)
    rows = []
    for info in classes.values():
        chain = _chain(info, classes, by_name)
        methods = set().union(*(c.methods for c in chain))
        attributes = set().union(*(c.attributes for c in chain))
        mutable = {a for a in attributes if any(a in c.rebound or a in c.containers for c in chain)}
        rows.append(Row(info.qualname, len(methods), len(mutable), sum(c.fields for c in chain)))
    rows.sort(key=lambda row: (-row.public_methods, -row.mutable_attributes, row.qualname))
    return rows


def main(argv: list[str] | None = None) -> None:
    """Print the table."""
    args = [a for a in (sys.argv[1:] if argv is None else argv) if Path(a).is_dir()]
    root = Path(args[0]) if args else Path(__file__).parent.parent / "src" / "uidt"
    print(f"{'class':64} {'public methods':>15} {'mutable attrs':>14} {'fields':>7}")
    for row in measure(root):
        if row.public_methods or row.mutable_attributes or row.dataclass_fields:
            mark = "  <- over" if row.over else ""
            print(
                f"{row.qualname:64} {row.public_methods:15d} {row.mutable_attributes:14d} "
                f"{row.dataclass_fields:7d}{mark}"
            )


if __name__ == "__main__":
    main()

"""Package attributes imported on first use (PEP 562), so importing a package stays cheap.

A package lists where each public name lives and hands the result of :func:`lazy_attributes`
to Python as its module ``__getattr__``::

    __getattr__ = lazy_attributes(__name__, {"JobInfo": "uidt.job", ...})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing (see uidt/__init__.py)
if TYPE_CHECKING:
    from typing import Any


def lazy_attributes(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``homes[name]`` and returns its ``name``.

    Args:
        package: The package's name, for the error message.
        homes: Public name → the module that defines it.
    """

    def module_getattr(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(home), name)

    return module_getattr

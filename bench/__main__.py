"""Run every benchmark module in ``bench/`` (each exposes ``def main() -> None``).

``python -m bench`` runs them all in name order; ``python -m bench transfer_bench core_bench``
runs the named ones only. ``python -m bench badday [OPTIONS]`` runs the bad-day reliability
benchmark (``bench/badday/``, root and network namespaces needed; never part of the default run).

First it compiles uidt's modules to bytecode (``compileall``), as installing a package does:
with an editable install (``make``) and ``PYTHONDONTWRITEBYTECODE=1`` in the environment, every
fresh uidt process would otherwise compile its sources again (~0.1 s per process), which users
of an installed uidt never pay.
"""

from __future__ import annotations

import compileall
import importlib
import pkgutil
import sys
from pathlib import Path

import uidt


def compile_uidt() -> None:
    """Write the ``.pyc`` files of the uidt package (quietly; already current ones are kept)."""
    package = Path(uidt.__file__).parent
    if not compileall.compile_dir(str(package), quiet=1):
        print(f"warning: some uidt modules under {package} did not compile", flush=True)


def discover() -> list[str]:
    """Names of the benchmark modules next to this file, sorted."""
    here = Path(__file__).parent
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(here)])
        if not info.name.startswith("_") and not info.ispkg
    )


def run(names: list[str]) -> int:
    """Import each ``bench.<name>`` and call its ``main()``; return how many failed."""
    failures = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        entry = getattr(module, "main", None)
        if not callable(entry):
            continue
        print(f"=== bench.{name} ===", flush=True)
        try:
            entry()
        except Exception as exc:  # one broken benchmark must not hide the others
            failures += 1
            print(f"bench.{name} failed: {type(exc).__name__}: {exc}", flush=True)
    return failures


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench``."""
    names = (argv if argv is not None else sys.argv[1:]) or discover()
    if names[0] == "badday":  # a package with options of its own (docs/reliability.md)
        from bench.badday import main as badday

        return badday(names[1:])
    unknown = [name for name in names if name not in discover()]
    if unknown:  # e.g. `python -m bench claim_bench 100`: options go in UIDT_BENCH_* variables
        print(
            f"no benchmark named {', '.join(unknown)} (benchmarks: {', '.join(discover())}, "
            "badday; their options are UIDT_BENCH_* variables: bench/README.md)",
            file=sys.stderr,
        )
        return 2
    compile_uidt()
    return 1 if run(names) else 0


if __name__ == "__main__":
    sys.exit(main())

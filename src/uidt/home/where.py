"""Which folders a home is, as plain paths: what :func:`uidt.home.paths.resolve_paths` wraps.

Kept apart from :mod:`uidt.home.paths` (its ``Paths`` dataclass, its logging) because the
command line's early knock (:mod:`uidt.cli.launch`) needs the control socket's path before it
loads anything else: a socket-activated daemon starts at that knock, so every millisecond spent
before it is on the way to the first byte. Imports only :mod:`os` and :mod:`pathlib`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: The control socket's file name in the runtime folder.
SOCKET_NAME = "uidt.sock"


def home_dirs(
    home: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> tuple[Path, Path, Path]:
    """The data, config and runtime folders for ``--home`` (or ``UIDT_HOME``), else XDG's.

    ``--home DIR`` (or ``UIDT_HOME``) is all three. Otherwise the data folder is
    ``$XDG_STATE_HOME/uidt`` (``~/.local/state/uidt``), the config folder
    ``$XDG_CONFIG_HOME/uidt`` and the runtime folder ``$XDG_RUNTIME_DIR/uidt`` (or the data
    folder where that variable is unset).
    """
    env = os.environ if env is None else env
    chosen = home if home is not None else env.get("UIDT_HOME") or None
    if chosen is not None:
        base = Path(chosen).expanduser().absolute()
        return base, base, base
    user_home = Path(env.get("HOME") or Path.home())
    state = Path(env.get("XDG_STATE_HOME") or user_home / ".local" / "state") / "uidt"
    config = Path(env.get("XDG_CONFIG_HOME") or user_home / ".config") / "uidt"
    runtime_base = env.get("XDG_RUNTIME_DIR")
    runtime = Path(runtime_base) / "uidt" if runtime_base else state
    return state, config, runtime


def socket_path(
    home: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """The control socket of the home :func:`home_dirs` names."""
    return home_dirs(home, env)[2] / SOCKET_NAME

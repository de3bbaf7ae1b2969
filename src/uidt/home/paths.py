"""Where a daemon keeps its socket, store, config and logs.

``--home DIR`` (or ``UIDT_HOME``) puts everything in one directory, so that independent daemons
can run side by side (tests do this). Without it the XDG locations of docs/android-semantics.md#beyond-android are used: the
data directory is ``$XDG_STATE_HOME/uidt`` (``~/.local/state/uidt``), the config directory
``$XDG_CONFIG_HOME/uidt`` and the socket lives in ``$XDG_RUNTIME_DIR/uidt/`` (or the data directory).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from uidt.errors import DaemonError
from uidt.home.where import SOCKET_NAME, home_dirs


@dataclass(frozen=True, slots=True)
class Paths:
    """The files of one daemon."""

    data_dir: Path
    config_dir: Path
    runtime_dir: Path

    @property
    def socket(self) -> Path:
        return self.runtime_dir / SOCKET_NAME

    @property
    def lock(self) -> Path:
        return self.data_dir / "daemon.lock"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "daemon.pid"

    @property
    def store(self) -> Path:
        return self.data_dir / "uidt.db"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def start_log(self) -> Path:
        """Where an autostarted daemon's own output goes (``daemon-start.log``)."""
        return self.log_dir / "daemon-start.log"

    @property
    def web_file(self) -> Path:
        """Where a running daemon writes its Task Manager URL (with the one-time token)."""
        return self.data_dir / "web.json"

    @property
    def transfers_dir(self) -> Path:
        """Default download directory of the built-in transfer app's bookkeeping."""
        return self.data_dir / "transfers"

    def ensure(self) -> None:
        """Create the directories, private to the user; make existing ones private.

        The data folder holds the job store (URLs with their passwords), the logs and the
        Task Manager's login token, so it and the socket's folder end up 0700 whatever they
        were (see :func:`make_private`).

        Raises:
            DaemonError: One of them belongs to another user or is a shared folder.
        """
        for directory in (self.data_dir, self.config_dir, self.runtime_dir, self.log_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for directory in dict.fromkeys((self.data_dir, self.runtime_dir, self.log_dir)):
            make_private(directory)


def make_private(directory: Path) -> None:
    """Tighten ``directory`` to 0700 if group or others may use it (logged), or refuse it.

    Raises:
        DaemonError: It is not a directory, belongs to another user, or is a shared folder
            (world-writable with the sticky bit, like ``/tmp``): uidt will not keep its store
            there.
    """
    st = directory.lstat()
    if not stat.S_ISDIR(st.st_mode):
        raise DaemonError(f"{directory} is not a directory (a link?); uidt keeps its files in one")
    if st.st_uid != os.geteuid():
        raise DaemonError(
            f"{directory} belongs to uid {st.st_uid}, not to you; uidt keeps its job store "
            "private and will not use it (choose a folder of your own with --home)"
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & stat.S_ISVTX and mode & stat.S_IWOTH:
        raise DaemonError(
            f"{directory} is a shared folder (mode {mode:04o}); uidt keeps its job store "
            "private and will not use it (choose a folder of your own with --home)"
        )
    if mode & 0o077:
        os.chmod(directory, 0o700)
        import logging  # only on this rare repair: the command line does not load logging

        logging.getLogger("uidt.daemon").warning(
            "%s was open to other users (mode %04o); made it 0700", directory, mode
        )


def resolve_paths(
    home: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Paths:
    """The paths for ``--home`` (or ``UIDT_HOME``), else the XDG locations
    (:func:`uidt.home.where.home_dirs`)."""
    return Paths(*home_dirs(home, env))

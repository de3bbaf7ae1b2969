"""Starting a daemon for a home in the background: its command line, its log, who started it.

Kept light (``os``, ``sys``, ``subprocess`` and the paths) because the command line calls it
before it loads click (:mod:`uidt.cli.launch`), so that a daemon that ``uidt download`` needs
boots while the command line is still importing. A daemon started that way is remembered
here, and :meth:`~uidt.app.connection.DaemonConnection.start_daemon` waits for it instead of
starting a second one.
"""

from __future__ import annotations

import os
import subprocess
import sys

from uidt.errors import DaemonError
from uidt.home.logfiles import open_capped_log
from uidt.home.paths import Paths

#: Daemons this process started and nobody has waited for yet, by socket path.
_started: dict[str, subprocess.Popen[bytes]] = {}
#: Where each daemon this process started began writing in ``daemon-start.log``, by pid.
_log_offsets: dict[int, int] = {}
#: How much of a failed start's output is read for its reason.
_TAIL_BYTES = 8192


def daemon_command(paths: Paths, daemon_args: tuple[str, ...] = ()) -> list[str]:
    """``python -m uidt.daemon --background`` for ``paths`` (the light entry point: no click).

    ``--background``: the daemon logs to its rotating ``daemon.log`` only; its stderr, this
    module's ``daemon-start.log``, then gets only what bypasses logging (a crash at start).
    """
    args = [sys.executable, "-m", "uidt.daemon", "--background"]
    if paths.data_dir == paths.config_dir == paths.runtime_dir:
        args += ["--home", str(paths.data_dir)]
    # (else the XDG layout: the daemon finds the same directories in the same environment)
    return args + [a for a in daemon_args if a != "--foreground"]


def spawn_daemon(paths: Paths, daemon_args: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """Start a daemon for ``paths`` in a session of its own; say so on stderr; do not wait.

    Its output goes to :attr:`Paths.start_log` (``daemon-start.log``, rotated first if it has
    grown past :data:`uidt.home.logfiles.MAX_BYTES`).

    Raises:
        DaemonError: the home cannot be created or the process cannot be started.
    """
    try:
        paths.ensure()
    except OSError as exc:
        raise DaemonError(f"cannot create the uidt home {paths.data_dir}: {exc}") from exc
    try:
        out = open_capped_log(paths.start_log)
        try:
            offset = os.fstat(out).st_size
            process = subprocess.Popen(
                daemon_command(paths, daemon_args),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                env=dict(os.environ),
            )
        finally:
            os.close(out)
    except OSError as exc:
        raise DaemonError(f"cannot start a uidt daemon in {paths.data_dir}: {exc}") from exc
    _started[str(paths.socket)] = process
    _log_offsets[process.pid] = offset
    print(f"uidt: started the daemon (pid {process.pid}, home {paths.data_dir})", file=sys.stderr)
    return process


def take_started(paths: Paths) -> subprocess.Popen[bytes] | None:
    """The daemon this process started for ``paths`` and has not yet waited for, if any."""
    return _started.pop(str(paths.socket), None)


def start_failure_reason(paths: Paths, pid: int) -> str | None:
    """Why the daemon ``pid`` this process started exited: its own words in ``daemon-start.log``.

    The daemon ends a failed start with ``uidt: REASON`` on stderr (the start log); that line is
    the reason. Other output (e.g. a traceback) gives its last line. ``None``: it wrote nothing.
    """
    offset = _log_offsets.get(pid)
    try:
        with open(paths.start_log, "rb") as log:
            size = os.fstat(log.fileno()).st_size
            start = max(offset if offset is not None else 0, size - _TAIL_BYTES)
            log.seek(start)
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    said = [line.removeprefix("uidt: ") for line in lines if line.startswith("uidt: ")]
    if said:
        return said[-1]
    return lines[-1] if lines else None

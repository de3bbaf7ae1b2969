"""The ``uidt`` program's entry point: start a needed daemon first, then load the command line.

``uidt download URL`` and ``uidt upload FILE URL`` need a daemon. When none is running for the
home, the command line used to find that out only after loading click and its own modules
(~0.1 s) and then start one, so the daemon's own start-up came after the command line's. Here
the command line looks at its arguments before any of that: if they name ``download`` or
``upload`` (and not ``--help`` or ``--foreground``) and the home has no daemon socket, it starts
the daemon (with the transfers worker prestarted) at once, and the two start in parallel. A home
whose socket exists gets a connection that hangs up at once instead: a daemon that systemd
starts on demand (``uidt.socket``) then starts at that moment too. The
command line then waits for that daemon instead of starting another
(:func:`uidt.app.spawn.take_started`).

Only global options the command line knows (``--home DIR``, ``--home=DIR``, ``--json``) may come
before the command, and its arguments must pass the checks the command line makes before it
connects (:mod:`uidt.cli.precheck`: an ``http(s)://`` URL, an existing file to upload, the
request options, headers, credentials and CA file, ``--sha256``...), so that a command the
command line refuses never starts a daemon. Anything else, or a home that cannot be created,
leaves the start to the command line as before, which then reports any error itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing before the knock
if TYPE_CHECKING:
    from typing import NoReturn

#: The commands that schedule a job of the built-in transfer app.
TRANSFER_COMMANDS = frozenset({"download", "upload"})
_NO_EARLY_START = frozenset({"-h", "--help", "--foreground"})


def transfer_home(argv: Sequence[str]) -> tuple[bool, str | None]:
    """Whether ``argv`` is a transfer command that will need a daemon, and its ``--home``.

    ``(False, None)`` whenever the arguments are anything else or cannot be read this simply.
    """
    home: str | None = None
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--json":
            continue
        if arg == "--home" and args:
            home = args.pop(0)
            continue
        if arg.startswith("--home="):
            home = arg.partition("=")[2]
            continue
        if arg in TRANSFER_COMMANDS and _plausible(arg, args):
            return True, home
        break
    return False, None


def _plausible(command: str, args: list[str]) -> bool:
    """Whether the command's own arguments look like they will reach the daemon."""
    if _NO_EARLY_START.intersection(args):
        return False
    from uidt.cli.precheck import acceptable

    return acceptable(command, args)


def start_daemon_early(argv: Sequence[str]) -> None:
    """Start the daemon a transfer command will need, if the home has no daemon socket yet."""
    wanted, home = transfer_home(argv)
    if not wanted:
        return
    from uidt.home.where import socket_path  # os and pathlib only: the knock comes first

    sock = socket_path(home)
    if os.path.lexists(sock):
        # A daemon runs, or a socket unit listens (or a stale socket: the command line sorts
        # that out). Knock: a socket-activated daemon then starts while this command loads.
        _knock(sock)
        return
    from uidt.app.spawn import spawn_daemon
    from uidt.errors import DaemonError
    from uidt.home.paths import resolve_paths
    from uidt.home.socketunit import socket_unit_owner
    from uidt.transfers.names import TRANSFERS_APP

    paths = resolve_paths(home)
    if socket_unit_owner(paths) is not None:
        return  # systemd's socket unit owns the path: it starts the daemon, not the CLI
    try:
        spawn_daemon(paths, ("--prestart", TRANSFERS_APP))
    except DaemonError:
        return  # the command line tries again and reports the error


def _knock(path: os.PathLike[str] | str) -> None:
    """Connect to ``path`` and hang up at once, without waiting (a daemon reads an empty
    connection and closes it; a service manager starts its socket-activated daemon for it)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as knock:
        knock.setblocking(False)
        knock.connect_ex(os.fspath(path))


def main() -> None:
    """Entry point of the ``uidt`` script and of ``python -m uidt``."""
    from uidt.timing import mark

    mark("cli.main")
    start_daemon_early(sys.argv[1:])
    mark("cli.early_start")
    from uidt.cli.main import main as cli_main

    mark("cli.imported")
    try:
        cli_main()
    except SystemExit as exc:
        leave(exc.code)
    leave(0)


def leave(code: object) -> NoReturn:
    """End the process with ``code`` (as ``SystemExit`` would) without tearing Python down.

    Once a command has done its work, unloading the modules it loaded (click, rich, the
    command's own) costs 20-40 ms that the user waits for and that nothing needs: the output is
    flushed here and logging's handlers closed, as at a normal exit; no command registers other
    exit handlers or leaves threads whose work must finish (the only one, which imports rich
    ahead of the progress bar, is a daemon thread). Only the real entry point does this; code that
    calls :func:`uidt.cli.main.main` in a process of its own (tests) exits as usual.
    """
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # SystemExit("message"): the message goes to stderr and the status is 1
        print(code, file=sys.stderr)
        status = 1
    if "logging" in sys.modules:
        import logging

        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``uidt jobs | head``): nothing to keep
            status = status or 1
    os._exit(status)

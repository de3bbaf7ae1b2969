"""Following jobs across a daemon restart: the one rule ``--wait`` (of one job or of a batch),
``uidt follow`` and the schedule request share.

A persisted job outlives its daemon: killed (``kill -9``, a crash) or restarted, the next daemon
runs it on. So a command that follows jobs does not end when its daemon stops answering: it
gives a daemon :data:`RECONNECT_GRACE_S` to come back by itself (a service manager, another
command), then starts one as any command does — unless the daemon was stopped on purpose
(``uidt daemon stop``, SIGTERM: it removed its pid file), which raises :class:`DaemonStopped`.
:class:`Losses` counts the losses in a row and gives up after :data:`MAX_RECONNECTS`.
"""

from __future__ import annotations

import time

from uidt.cli.context import CliContext
from uidt.errors import DaemonError

#: After losing its daemon (killed, or restarted), a follower gives a daemon this long to come
#: back by itself (a service manager, another command) before it starts one, as any command
#: does; a persisted job goes on under the next daemon either way.
RECONNECT_GRACE_S = 3.0
RECONNECT_POLL_S = 0.1
#: Losses in a row (no answer in between) after which the follower gives up.
MAX_RECONNECTS = 5


class DaemonStopped(DaemonError):
    """The daemon a follower talked to was stopped on purpose and none came back."""


def reconnect(cli: CliContext) -> None:
    """Wait up to :data:`RECONNECT_GRACE_S` for a daemon to answer again, else start one.

    A daemon that ended on purpose (``uidt daemon stop``, SIGTERM) removes its pid file; one
    that was killed leaves it behind. Only the killed one is started again here: a daemon the
    user stopped stays stopped.

    Raises:
        DaemonStopped: the daemon was stopped on purpose and none came back.
        DaemonError: no daemon came back and none could be started.
    """
    quiet = cli.connection(autostart=False)
    deadline = time.monotonic() + RECONNECT_GRACE_S
    while time.monotonic() < deadline:
        try:
            quiet.request("GET", "/v1/ping")
        except DaemonError:
            time.sleep(RECONNECT_POLL_S)  # noqa: TID251 - waiting for another process, bounded
        else:
            return
    if not cli.paths.pid_file.exists():
        raise DaemonStopped(f"the uidt daemon for {cli.paths.data_dir} was stopped")
    cli.connection(autostart=True).request("GET", "/v1/ping")


class Losses:
    """The daemon's losses in a row while a command follows its jobs.

    After each ask that failed with :class:`~uidt.errors.DaemonError`, :meth:`lost` reconnects
    (a daemon still dying or starting counts as one more loss at the next ask); after each
    answer, :meth:`answered` starts the count again.
    """

    def __init__(self, cli: CliContext) -> None:
        self.cli = cli
        self.in_a_row = 0

    def lost(self, error: DaemonError) -> None:
        """The daemon did not answer (``error``): wait for the next one (:func:`reconnect`).

        Raises:
            DaemonStopped: It was stopped on purpose (``error`` itself, or from the reconnect).
            DaemonError: ``error``, after more than :data:`MAX_RECONNECTS` losses in a row.
        """
        if isinstance(error, DaemonStopped):
            raise error
        self.in_a_row += 1
        if self.in_a_row > MAX_RECONNECTS:
            raise error
        try:
            reconnect(self.cli)
        except DaemonStopped:
            raise
        except DaemonError:
            pass  # a daemon still dying or starting: the next ask counts as another loss

    def answered(self) -> None:
        """The daemon answered: the next loss is the first again."""
        self.in_a_row = 0

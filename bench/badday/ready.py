"""Wait until a TCP address accepts connections, with a bounded deadline.

The bad day starts no client before its lane's fault proxy (and nginx behind it) accepts: a
client whose first connection is refused loses its own retry back-off to a harness slip, not
to the trace. The wait runs where the client would connect from:
``ip netns exec <client ns> python -m bench.badday.ready HOST PORT [--deadline S]`` exits 0
once a connection to ``HOST:PORT`` was accepted, or 1 with one line saying what failed.
Standard library only.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Callable

#: How long a lane may take to start listening before the harness gives up on the seed.
DEADLINE_S = 20.0
RETRY_S = 0.05


class NotReadyError(RuntimeError):
    """The address did not accept a connection before the deadline."""


def wait_accepting(
    host: str,
    port: int,
    deadline_s: float = DEADLINE_S,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Connect to ``host:port`` until one connection is accepted; the seconds it took.

    Raises :class:`NotReadyError` (naming the address and the last error) once ``deadline_s``
    has passed without an accepted connection.
    """
    start = clock()
    last = "no attempt"
    while True:
        try:
            with socket.create_connection((host, port), timeout=max(RETRY_S, 1.0)):
                return clock() - start
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        if clock() - start >= deadline_s:
            raise NotReadyError(
                f"{host}:{port} did not accept a connection within {deadline_s:g} s ({last})"
            )
        time.sleep(RETRY_S)  # noqa: TID251 - polling a real socket, bounded by the deadline


def ready_argv(host: str, port: int, deadline_s: float = DEADLINE_S) -> list[str]:
    """The command line that waits for ``host:port`` (to run inside a namespace)."""
    return [
        sys.executable, "-m", "bench.badday.ready", host, str(port), "--deadline", str(deadline_s)
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--deadline", type=float, default=DEADLINE_S)
    args = parser.parse_args(argv)
    try:
        waited = wait_accepting(args.host, args.port, args.deadline)
    except NotReadyError as exc:
        print(f"not ready: {exc}", file=sys.stderr)
        return 1
    print(f"accepting after {waited:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())


class SharedZero:
    """One time zero for ``parties`` lanes: :meth:`wait` returns once every lane is ready.

    The moment the last lane arrives becomes everyone's zero (epoch seconds, from ``clock``).
    A lane that fails to get ready calls :meth:`abort`, so the others stop waiting and raise
    :class:`NotReadyError` instead of waiting for it.
    """

    def __init__(
        self,
        parties: int,
        timeout_s: float = 4 * DEADLINE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._barrier = threading.Barrier(parties, action=self._set_zero)
        self._timeout_s = timeout_s
        self._clock = clock
        self.zero: float | None = None

    def _set_zero(self) -> None:
        self.zero = self._clock()

    def wait(self) -> float:
        try:
            self._barrier.wait(self._timeout_s)
        except threading.BrokenBarrierError:
            raise NotReadyError(
                "another lane did not get ready (or failed): no shared time zero"
            ) from None
        assert self.zero is not None
        return self.zero

    def abort(self) -> None:
        self._barrier.abort()

"""A lane's fault proxy as the harness runs it: started, known to accept, told its zero, stopped.

The proxy (:mod:`bench.badday.proxy`) runs in the lane's server namespace without ``--t0``: it
listens at once and waits for the trace's time zero on its standard input. The harness starts
no client before :meth:`LaneProxy.wait_accepting` has seen a connection from the client's
namespace accepted (issue #20: a peer whose first connection was refused lost its retry
back-off to the harness, not to the trace).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import IO

from bench.badday.net import PROXY_PORT, Lane
from bench.badday.ready import NotReadyError, ready_argv

#: How long a stopped proxy may take to exit before it is killed.
STOP_S = 5.0


class LaneProxy:
    def __init__(
        self, lane: Lane, argv: list[str], env: dict[str, str], log_out: IO[bytes]
    ) -> None:
        self.lane = lane
        self.proc = subprocess.Popen(
            lane.in_server(*argv), env=env, stdout=log_out, stderr=log_out, stdin=subprocess.PIPE
        )

    def wait_accepting(self) -> None:
        """Return once the proxy accepts a connection made from the client's namespace.

        Raises :class:`NotReadyError` (naming the lane and why) past the readiness deadline.
        """
        probe = subprocess.run(
            self.lane.in_client(*ready_argv(self.lane.server_ip, PROXY_PORT)),
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode != 0:
            exited = self.proc.poll()
            why = probe.stderr.strip() or f"exit {probe.returncode}"
            raise NotReadyError(
                f"the fault proxy of {self.lane.server_ns} is not accepting: {why}"
                + ("" if exited is None else f" (the proxy exited with {exited})")
            )

    def send_zero(self, t0: float) -> None:
        """Tell the proxy the trace's time zero (epoch seconds); it serves from then on."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{t0!r}\n".encode())
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

"""When the daemon's end of the socket closes, the worker cancels the app's own tasks and lets
them clean up before it exits (a transfer commits its checkpoint then)."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

from uidt.host import messages as msg
from uidt.host import protocol
from uidt.job.params import JobParameters

SAMPLE = Path(__file__).parents[1] / "apps" / "sample"


async def test_app_tasks_are_cancelled_and_clean_up_when_the_daemon_goes_away(
    tmp_path: Path,
) -> None:
    log = tmp_path / "app.log"
    ours, theirs = socket.socketpair()
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uidt.host.worker", "--fd", str(theirs.fileno()),
        "--app", "org.example.sample", "--channels", "work",
        pass_fds=(theirs.fileno(),), env={"PYTHONPATH": str(SAMPLE)},
    )  # fmt: skip
    theirs.close()
    reader, writer = await asyncio.open_unix_connection(sock=ours)
    hello = await protocol.read_frame(reader, protocol.FROM_WORKER)
    assert isinstance(hello, msg.Hello)
    params = JobParameters(
        1, extras={"mode": "task", "log": str(log)}, user_initiated=True, run_id=1
    )
    writer.write(protocol.encode(msg.Start(1, "sample_app:SampleService", params.to_dict())))
    while (message := await protocol.read_frame(reader, protocol.FROM_WORKER)) is not None:
        if isinstance(message, msg.StartResult):
            break
    # When the daemon goes away (its end of the socket closes)
    writer.close()
    assert await asyncio.wait_for(worker.wait(), 15) == 0
    # Then the app's own task was cancelled and could clean up first
    assert log.read_text().splitlines() == ["start 1 task", "cleaned 1"]

"""SIGKILL a process in the middle of a stream of put/replace/remove calls; nothing acknowledged is lost.

The child applies a list of operations to a SQLite store and prints one acknowledgement line
(flushed) after each call returns. The parent kills it after a random number of
acknowledgements, reads what the pipe still holds, reopens the store and checks it against a
model: every acknowledged operation is reflected exactly, and the single operation in flight is
either fully there or not at all.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from uidt.job.key import JobKey
from uidt.store.record import JobRecord
from uidt.store.sqlite import SqliteJobStore
from uidt.testing.store_contract import make_record

ITERATIONS = 20
#: Each call commits durably (a few ms): 150 calls a child keep the kill points as varied (any
#: of the three kinds, any padding, an in-flight call each time) at less than half the time of
#: the 400 this once had (20 s of the suite).
OPS_PER_CHILD = 150

CHILD = """
import json, sys
from uidt.store.sqlite import SqliteJobStore
from uidt.testing.store_contract import make_record
from uidt.job.key import JobKey

ops = json.loads(sys.stdin.read())
store = SqliteJobStore(sys.argv[1])
for n, (kind, job_id, seq, padding) in enumerate(ops):
    if kind == "remove":
        store.remove_job(JobKey("com.example", None, job_id))
    else:
        store.put_job(make_record(job_id=job_id, persisted=kind == "put", num_failures=seq % 3,
                                  extra={"seq": seq, "padding": "x" * padding}))
    sys.stdout.write(f"ack {n}\\n")
    sys.stdout.flush()
sys.stdout.write("done\\n")
sys.stdout.flush()
sys.stdin.close()
"""

Op = tuple[str, int, int, int]


def _ops(rng: random.Random) -> list[Op]:
    kinds = ["put"] * 6 + ["volatile"] + ["remove"] * 3
    return [
        (rng.choice(kinds), rng.randrange(12), seq, rng.choice([0, 10, 5000]))
        for seq in range(OPS_PER_CHILD)
    ]


def _expected(op: Op) -> JobRecord:
    _kind, job_id, seq, padding = op
    return make_record(
        job_id=job_id, num_failures=seq % 3, extra={"seq": seq, "padding": "x" * padding}
    )


def _apply(model: dict[int, JobRecord], op: Op) -> None:
    kind, job_id, _seq, _padding = op
    if kind == "put":
        model[job_id] = _expected(op)
    else:  # a remove, or a non-persisted replacement, leaves nothing on disk
        model.pop(job_id, None)


def _run_and_kill(path: Path, ops: list[Op], kill_after: int) -> int:
    """Run the child, SIGKILL it after ``kill_after`` acks; return how many acks it wrote."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert child.stdin is not None
    assert child.stdout is not None
    child.stdin.write(json.dumps(ops).encode())
    child.stdin.close()
    acked = 0
    while acked < kill_after:
        line = child.stdout.readline()
        if not line.startswith(b"ack "):
            break
        acked += 1
    child.send_signal(signal.SIGKILL)
    rest = child.stdout.read()
    child.wait(timeout=30)
    child.stdout.close()
    # Only complete lines count: a torn last line is an unacknowledged (in-flight) call.
    acked += sum(1 for line in rest.split(b"\n")[:-1] if line.startswith(b"ack "))
    return acked


def _on_disk(path: Path) -> dict[int, JobRecord]:
    with SqliteJobStore(path) as store:
        return {r.key.job_id: r for r in store.jobs()}


def test_acknowledged_calls_survive_sigkill(tmp_path: Path) -> None:
    model: dict[int, JobRecord] = {}
    path = tmp_path / "uidt.db"
    killed_midway = 0
    for iteration in range(ITERATIONS):
        rng = random.Random(iteration)
        ops = _ops(rng)
        acked = _run_and_kill(path, ops, kill_after=rng.randrange(1, OPS_PER_CHILD))
        for op in ops[:acked]:
            _apply(model, op)
        found = _on_disk(path)
        if found != model and acked < len(ops):
            in_flight = dict(model)
            _apply(in_flight, ops[acked])
            assert found == in_flight, f"iteration {iteration}: neither before nor after op {acked}"
            model = in_flight
        assert found == model, f"iteration {iteration}: store differs after {acked} acks"
        assert all(r.key == JobKey("com.example", None, r.key.job_id) for r in found.values())
        killed_midway += acked < len(ops)
    assert killed_midway >= ITERATIONS // 2, "the child finished before the kill too often"


def test_child_script_runs_to_completion(tmp_path: Path) -> None:
    """The child itself works: with no kill, every op is acknowledged and applied."""
    ops: list[Op] = [
        ("put", 1, 0, 0),
        ("volatile", 2, 1, 0),
        ("put", 3, 2, 10),
        ("remove", 1, 3, 0),
    ]
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "uidt.db")],
        input=json.dumps(ops).encode(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.decode().splitlines() == ["ack 0", "ack 1", "ack 2", "ack 3", "done"]
    model: dict[int, JobRecord] = {}
    for op in ops:
        _apply(model, op)
    assert _on_disk(tmp_path / "uidt.db") == model

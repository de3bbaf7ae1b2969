"""Patience: the runs a download may spend waiting out transient trouble before it fails."""

from __future__ import annotations

import os
from pathlib import Path

from uidt.transfers.checkpoint import Checkpoint
from uidt.transfers.patience import Patience, patience_path

REASON = "http://127.0.0.1/f: the server kept answering HTTP 503 Service Unavailable"


def test_runs_without_progress_are_counted_up_to_the_limit(tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    patience = Patience(dest, limit=3)
    verdicts = [patience.ran_out(REASON, progressed=False, now=1000.0 + 60 * i) for i in range(4)]
    assert [v.give_up for v in verdicts] == [False, False, False, True]
    assert [v.idle_runs for v in verdicts] == [1, 2, 3, 4]
    assert verdicts[-1].reason == f"{REASON} (still failing after 4 runs over 3 min)"
    assert not patience_path(dest).exists()  # the job ends: nothing is left behind


def test_a_run_that_stored_bytes_starts_the_count_again(tmp_path: Path) -> None:
    patience = Patience(tmp_path / "f.bin", limit=2)
    patience.ran_out(REASON, progressed=False, now=0.0)
    patience.ran_out(REASON, progressed=False, now=30.0)
    assert patience.ran_out(REASON, progressed=True, now=90.0).idle_runs == 1
    assert patience.ran_out(REASON, progressed=False, now=200.0).give_up is False


def test_the_count_survives_a_new_process(tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    Patience(dest, limit=2).ran_out(REASON, progressed=False, now=0.0)
    Patience(dest, limit=2).ran_out(REASON, progressed=False, now=30.0)
    verdict = Patience(dest, limit=2).ran_out(REASON, progressed=False, now=7230.0)
    assert verdict.give_up
    assert verdict.reason.endswith("(still failing after 3 runs over 2 h 00 min)")


def test_garbage_in_the_count_starts_from_one(tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    Checkpoint(patience_path(dest)).save({"idle_runs": "many", "since": "yesterday"})
    verdict = Patience(dest, limit=2).ran_out(REASON, progressed=False, now=5.0)
    assert (verdict.give_up, verdict.idle_runs) == (False, 1)
    assert Checkpoint(patience_path(dest)).load() == {
        "idle_runs": 1,
        "since": 5.0,
        "reason": REASON,
    }


def test_a_count_another_user_planted_is_not_trusted(tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    planted = patience_path(dest)
    Checkpoint(planted).save({"idle_runs": 99, "since": 0.0})  # one run from failing the job
    if os.geteuid() == 0:
        os.chown(planted, 65534, 65534)
    else:
        planted.chmod(0o666)  # writable by others: not surely the user's either
    verdict = Patience(dest, limit=3).ran_out(REASON, progressed=False, now=10.0)
    assert (verdict.give_up, verdict.idle_runs) == (False, 1)
    assert planted.stat().st_uid == os.geteuid()  # replaced by the user's own count

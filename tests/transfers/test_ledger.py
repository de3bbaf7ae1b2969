"""CommitLedger: what the part file's checkpoints promise, and when the next one is due."""

from __future__ import annotations

import pytest

from uidt.testing.clock import FakeClock
from uidt.transfers import ledger as ledger_module
from uidt.transfers.ledger import DURABLE_BYTES, CommitLedger

BOOT = "boot-a"
MiB = 1024 * 1024


def _ledger(clock: FakeClock | None = None, boot: str | None = BOOT) -> CommitLedger:
    return CommitLedger(clock or FakeClock(), boot=boot)


def test_a_new_ledger_promises_nothing() -> None:
    ledger = _ledger()
    assert (ledger.recorded, ledger.durable, ledger.committing) == (0, 0, 0)
    assert ledger.state() == {"boot_id": BOOT, "durable_offset": 0, "sha256_durable": None}


def test_the_boot_id_defaults_to_the_running_boot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_module, "boot_id", lambda: "this-boot")
    assert CommitLedger(FakeClock()).boot_id == "this-boot"


def test_a_commit_is_due_after_half_the_bytes_or_the_time() -> None:
    clock = FakeClock()
    ledger = _ledger(clock)
    ledger.start(0, durable=False)
    assert not ledger.commit_due(49, every_bytes=100, every_ms=1000)
    assert ledger.commit_due(50, every_bytes=100, every_ms=1000)  # half an interval
    clock.advance(999)
    assert not ledger.commit_due(0, every_bytes=100, every_ms=1000)
    clock.advance(1)
    assert ledger.commit_due(0, every_bytes=100, every_ms=1000)


def test_a_tiny_byte_interval_still_needs_one_new_byte() -> None:
    ledger = _ledger()
    ledger.start(10, durable=False)
    assert not ledger.commit_due(10, every_bytes=1, every_ms=10**9)
    assert ledger.commit_due(11, every_bytes=1, every_ms=10**9)


def test_a_sync_is_due_by_time_since_the_last_durable_commit_only() -> None:
    clock = FakeClock()
    ledger = _ledger(clock)
    ledger.start(0, durable=True)
    clock.advance(600)
    ledger.start(5, durable=False)  # a recorded commit does not reset the sync time
    assert not ledger.sync_due(9, 1000)
    clock.advance(400)
    assert ledger.sync_due(9, 1000)
    ledger.start(9, durable=True)
    assert not ledger.sync_due(9, 1000)


def test_a_sync_is_due_after_enough_bytes_but_never_sooner_than_the_least_interval() -> None:
    clock = FakeClock()
    ledger = _ledger(clock)
    rule = {"every_bytes": 100, "least_ms": 250}
    ledger.start(1000, durable=True)
    clock.advance(100)
    assert not ledger.sync_due(1099, 1000, **rule)
    assert not ledger.sync_due(1100, 1000, **rule)  # enough bytes, too soon: fsyncs stay rare
    clock.advance(150)
    assert not ledger.sync_due(1099, 1000, **rule)
    assert ledger.sync_due(1100, 1000, **rule)
    ledger.start(1100, durable=False)  # a recorded commit does not move the durable offset
    assert ledger.sync_due(1100, 1000, **rule)
    ledger.start(1100, durable=True)
    assert not ledger.sync_due(1150, 1000, **rule)
    ledger.resumed(5000)  # a resume counts from where it starts
    clock.advance(250)
    assert not ledger.sync_due(5099, 1000, **rule)
    assert ledger.sync_due(5100, 1000, **rule)


def test_the_default_durable_rule_is_every_second_or_2_mib_at_most_4_times_a_second() -> None:
    clock = FakeClock()
    ledger = _ledger(clock)
    ledger.start(0, durable=True)
    clock.advance(249)
    assert not ledger.sync_due(64 * MiB, 10**9)
    clock.advance(1)
    assert not ledger.sync_due(DURABLE_BYTES - 1, 10**9)
    assert ledger.sync_due(DURABLE_BYTES, 10**9)
    assert 2 * MiB == DURABLE_BYTES


def test_without_a_boot_id_every_commit_is_durable() -> None:
    clock = FakeClock()
    ledger = _ledger(clock, boot=None)
    assert ledger.start(7, durable=False) is True
    assert ledger.committing == 7
    clock.advance(1000)
    assert ledger.sync_due(9, 1000)
    assert _ledger(boot=BOOT).start(7, durable=False) is False


def test_what_a_killed_process_keeps_and_what_a_crash_keeps() -> None:
    ledger = _ledger()
    ledger.synced(100, "d100")
    ledger.saved(100)
    ledger.saved(150)  # recorded, not fsynced
    assert (ledger.recorded, ledger.durable) == (150, 100)
    state = {"offset": 150, "sha256_prefix": "d150", **ledger.state()}
    assert (state["durable_offset"], state["sha256_durable"]) == (100, "d100")
    # The same boot (a killed process): the kernel still holds every recorded byte.
    assert _ledger(boot=BOOT).trusted(state) == (150, "d150")
    # Another boot (a crash or power cut): only the fsynced prefix is sure.
    assert _ledger(boot="boot-b").trusted(state) == (100, "d100")


def test_a_checkpoint_without_a_boot_is_all_durable() -> None:
    # Version 1 checkpoints, and those written where there is no boot id.
    state = {"offset": 40, "sha256_prefix": "d40", "boot_id": None}
    assert _ledger(boot="boot-b").trusted(state) == (40, "d40")
    assert _ledger(boot="boot-b").trusted({"offset": 40}) == (40, None)


def test_a_hostile_checkpoint_is_handed_back_as_found_for_the_caller_to_refuse() -> None:
    # The ledger does not vet types; PartFile.resume checks the offset against the file.
    state = {"offset": "150", "boot_id": "boot-x", "durable_offset": -1}
    assert _ledger().trusted(state) == (-1, None)


def test_resumed_trusts_the_offset_but_nothing_is_durable_until_the_next_sync() -> None:
    ledger = _ledger()
    ledger.resumed(150)
    assert (ledger.recorded, ledger.committing, ledger.durable) == (150, 150, 0)
    assert ledger.state()["durable_offset"] == 0


def test_reset_forgets_every_offset() -> None:
    ledger = _ledger()
    ledger.start(150, durable=True)
    ledger.synced(150, "d150")
    ledger.saved(150)
    ledger.reset()
    assert (ledger.recorded, ledger.durable, ledger.committing) == (0, 0, 0)
    assert ledger.state()["sha256_durable"] is None

"""The transfer app's receiver helpers: the kept paused jobs, and the careful removal of a
cancelled download's part file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from uidt.transfers import paused
from uidt.transfers.jobs import download_job
from uidt.transfers.leftovers import remove_own_file


def test_a_paused_job_is_kept_privately_until_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UIDT_HOME", str(tmp_path))
    job = download_job("http://127.0.0.1:9/a.iso", tmp_path / "a.iso", network="unmetered")
    assert paused.load(job.job_id) is None
    paused.save(job)
    assert paused.load(job.job_id) == job
    stored = paused.paused_dir() / f"{job.job_id}.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    paused.forget(job.job_id)
    assert paused.load(job.job_id) is None
    paused.forget(job.job_id)  # twice is fine


def test_a_corrupt_kept_job_reads_as_not_paused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UIDT_HOME", str(tmp_path))
    paused.paused_dir().mkdir(parents=True)
    (paused.paused_dir() / "7.json").write_text("{not json")
    assert paused.load(7) is None


def test_only_a_regular_file_of_this_user_is_removed(tmp_path: Path) -> None:
    mine = tmp_path / "a.iso.part"
    mine.write_bytes(b"x")
    assert remove_own_file(mine)
    assert not mine.exists()
    assert not remove_own_file(mine)  # gone already
    # a link planted where the part file was: neither it nor its target is touched
    target = tmp_path / "precious"
    target.write_bytes(b"keep")
    link = tmp_path / "b.iso.part"
    link.symlink_to(target)
    assert not remove_own_file(link)
    assert link.is_symlink()
    assert target.read_bytes() == b"keep"
    folder = tmp_path / "c.iso.part"
    folder.mkdir()
    assert not remove_own_file(folder)
    assert folder.is_dir()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to plant another user's file")
def test_another_users_file_is_left_alone(tmp_path: Path) -> None:
    planted = tmp_path / "d.iso.part"
    planted.write_bytes(b"theirs")
    os.chown(planted, 65534, 65534)
    assert not remove_own_file(planted)
    assert planted.read_bytes() == b"theirs"

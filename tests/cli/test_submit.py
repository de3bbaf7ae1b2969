"""What `uidt download/upload` says when it attached to a job or replaced one."""

from __future__ import annotations

from pathlib import Path

from uidt.cli.submit import admission_note
from uidt.transfers.jobs import download_job


def test_attached_says_so_and_whether_it_follows(tmp_path: Path) -> None:
    job = download_job("http://127.0.0.1:1/a", tmp_path / "a")
    answer = {"result": 1, "generation": 4, "attached": True, "replaced": None}
    assert admission_note(answer, job, "download", wait=True) == (
        f"already downloading, following job {job.job_id}; not started again"
    )
    assert "(job" in admission_note(answer, job, "download", wait=False)


def test_a_replacement_names_the_earlier_url(tmp_path: Path) -> None:
    job = download_job("http://127.0.0.1:1/new", tmp_path / "a")
    old = download_job("http://127.0.0.1:1/old", tmp_path / "a")
    answer = {"result": 1, "generation": 5, "replaced": {"generation": 4, "job": old.to_dict()}}
    note = admission_note(answer, job, "download", wait=True)
    assert note.startswith(f"replaced the earlier download job {job.job_id}")
    assert "http://127.0.0.1:1/old" in note


def test_a_new_job_says_nothing(tmp_path: Path) -> None:
    job = download_job("http://127.0.0.1:1/a", tmp_path / "a")
    assert admission_note({"result": 1, "generation": 1}, job, "download", wait=True) == ""


def test_a_replacement_names_the_earlier_url_without_its_password(tmp_path: Path) -> None:
    job = download_job("http://127.0.0.1:1/new", tmp_path / "a")
    old = download_job("http://ann:pw-secret@127.0.0.1:1/old", tmp_path / "a")
    answer = {"result": 1, "generation": 5, "replaced": {"generation": 4, "job": old.to_dict()}}
    note = admission_note(answer, job, "download", wait=True)
    assert "http://ann:***@127.0.0.1:1/old" in note
    assert "pw-secret" not in note

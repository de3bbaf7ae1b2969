"""``uidt download`` with several files: the jobs it builds, before any daemon is asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from uidt.cli.batchargs import BatchArgs
from uidt.cli.main import cli
from uidt.cli.requestopts import RequestArgs
from uidt.job.info import JobInfo


@pytest.fixture
def scheduled(monkeypatch: pytest.MonkeyPatch) -> list[JobInfo]:
    """The jobs the batch would schedule (no daemon is asked)."""
    jobs: list[JobInfo] = []

    def run(self: BatchArgs, cli: Any, items: Any, built: list[JobInfo], *, wait: bool) -> int:
        jobs.extend(built)
        return 0

    monkeypatch.setattr(BatchArgs, "run", run)
    return jobs


def test_request_options_are_built_once_per_origin(
    scheduled: list[JobInfo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A --user password is asked for once per host, and a CA file read once, not per file."""
    calls: list[str] = []
    real = RequestArgs.build

    def counting(self: RequestArgs, url: str, **kwargs: Any) -> Any:
        calls.append(url)
        return real(self, url, **kwargs)

    monkeypatch.setattr(RequestArgs, "build", counting)
    urls = [f"http://a/{n}" for n in range(20)] + ["http://b/x"]
    result = CliRunner().invoke(
        cli, ["--home", str(tmp_path / "h"), "download", *urls, "-o", str(tmp_path), "-H", "X: 1"]
    )
    assert result.exit_code == 0, result.output
    assert calls == ["http://a/0", "http://b/x"]
    assert len(scheduled) == 21
    assert len({job.job_id for job in scheduled}) == 21


def test_mirrors_reach_the_jobs_extras(scheduled: list[JobInfo], tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("http://a/f\thttp://b/f\nhttp://a/g\n")
    result = CliRunner().invoke(
        cli, ["--home", str(tmp_path / "h"), "download", "-i", str(listing), "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert scheduled[0].extras["mirrors"] == ["http://b/f"]
    assert "mirrors" not in scheduled[1].extras


def test_foreground_takes_one_url(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--home",
            str(tmp_path / "h"),
            "download",
            "http://a/1",
            "http://a/2",
            "-o",
            str(tmp_path),
            "--foreground",
        ],
    )
    assert result.exit_code != 0
    assert "--foreground takes one URL" in str(result.exception) + result.output


def test_split_reaches_the_jobs_extras_per_file(scheduled: list[JobInfo], tmp_path: Path) -> None:
    """--split for every file; an input file's split= line for its own file."""
    listing = tmp_path / "list.txt"
    listing.write_text("http://a/f\n  split=8\nhttp://a/g\n")
    home = str(tmp_path / "h")
    args = ["--home", home, "download", "-i", str(listing), "-o", str(tmp_path), "-s", "2"]
    result = CliRunner().invoke(cli, [*args, "--min-split-size", "5M"])
    assert result.exit_code == 0, result.output
    assert [job.extras["split"] for job in scheduled] == [8, 2]
    assert all(job.extras["min_split_size"] == 5 * 1024 * 1024 for job in scheduled)


def test_split_auto_reaches_the_jobs_extras(scheduled: list[JobInfo], tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("http://a/f\n  split=AUTO\nhttp://a/g\n  split=3\nhttp://a/h\n")
    home = str(tmp_path / "h")
    args = ["--home", home, "download", "-i", str(listing), "-o", str(tmp_path), "-s", "auto"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert [job.extras["split"] for job in scheduled] == ["auto", 3, "auto"]


def test_without_split_a_download_is_auto(scheduled: list[JobInfo], tmp_path: Path) -> None:
    """The default is ``auto``: one connection, the same path and speed as ``--split 1`` on a
    link it fills, more connections only while they help (bench/README.md's figures)."""
    result = CliRunner().invoke(
        cli,
        [
            "--home",
            str(tmp_path / "h"),
            "download",
            "http://a/f",
            "http://a/g",
            "-o",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert [job.extras["split"] for job in scheduled] == ["auto", "auto"]
    assert not any("min_split_size" in job.extras for job in scheduled)


def test_split_1_still_forces_one_connection(scheduled: list[JobInfo], tmp_path: Path) -> None:
    """``--split 1`` for every file, and an input file's ``split=1`` line for its own."""
    listing = tmp_path / "list.txt"
    listing.write_text("http://a/f\n  split=1\nhttp://a/g\n")
    home = str(tmp_path / "h")
    args = ["--home", home, "download", "-i", str(listing), "-o", str(tmp_path)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert CliRunner().invoke(cli, [*args, "--split", "1"]).exit_code == 0
    assert [job.extras["split"] for job in scheduled] == [1, "auto", 1, 1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--split", "0"], "split is 1 to 16 connections or auto, not '0'"),
        (["-s", "17"], "split is 1 to 16 connections or auto, not '17'"),
        (["-s", "many"], "split is 1 to 16 connections or auto, not 'many'"),
        (["--min-split-size", "512K"], "1M to 1024M"),
        (["--min-split-size", "2T"], "1M to 1024M"),
        (["--min-split-size", "lots"], "--min-split-size"),
    ],
)
def test_bad_split_options_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(
        cli, ["--home", str(tmp_path / "h"), "download", "http://a/f", "-o", str(tmp_path), *args]
    )
    assert result.exit_code == 2
    assert message in result.output

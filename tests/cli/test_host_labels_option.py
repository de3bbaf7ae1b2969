"""``uidt download/upload --on LABEL``: the job requires the host labels (docs/fleet.md)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from uidt.cli.main import cli
from uidt.errors import InvalidJobError
from uidt.transfers.jobs import download_job, upload_job


def test_the_labels_go_into_the_job(tmp_path: Path) -> None:
    down = download_job("http://127.0.0.1:1/a", tmp_path / "a", host_labels=("ssd", "gpu-rack"))
    assert down.required_host_labels == ("gpu-rack", "ssd")
    source = tmp_path / "s"
    source.write_bytes(b"x")
    up = upload_job(source, "http://127.0.0.1:1/u", host_labels=("gpu-rack",))
    assert up.required_host_labels == ("gpu-rack",)
    assert download_job("http://127.0.0.1:1/a", tmp_path / "a").required_host_labels == ()


def test_a_label_typo_is_a_clear_error_before_anything_is_scheduled(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["--home", str(tmp_path / "home"), "download", "http://127.0.0.1:1/a", "--on", "GPU"],
    )
    assert result.exit_code == 2
    assert "Invalid value for '--on'" in result.output
    assert "invalid host label 'GPU'" in result.output
    assert not (tmp_path / "home").exists()  # no daemon asked, nothing written


def test_on_is_refused_with_foreground(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--home",
            str(tmp_path / "home"),
            "download",
            "http://127.0.0.1:1/a",
            "-o",
            str(tmp_path / "a"),
            "--on",
            "gpu",
            "--foreground",
        ],
    )
    # the exception is what `uidt` prints as one line, exit 1 (uidt.cli.main's handler)
    assert isinstance(result.exception, InvalidJobError)
    assert "--on picks a host" in str(result.exception)
    assert not (tmp_path / "a").exists()

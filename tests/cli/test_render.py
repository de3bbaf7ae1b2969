"""The jobs table of `uidt jobs` / `uidt dumpsys`."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from uidt.cli.render import jobs_table


def _text(jobs: list[dict[str, Any]]) -> str:
    console = Console(width=200, record=True)
    console.print(jobs_table(jobs))
    return console.export_text()


def _job(state: str, **fields: Any) -> dict[str, Any]:
    return {
        "app": "uidt.transfers",
        "namespace": None,
        "job_id": 7,
        "state": state,
        "stop_reason": 0,
        "internal_stop_reason": 10,
        "history": [{"time": None, "state": state, "reason": ""}],
        **fields,
    }


def test_a_failed_job_shows_its_reason_not_a_successful_finish() -> None:
    text = _text([_job("failed", failure="HTTP 404 Not Found")])
    assert "failed: HTTP 404 Not Found" in text
    assert "SUCCESSFUL_FINISH" not in text


def test_a_finished_job_keeps_its_last_stop() -> None:
    text = _text([_job("finished", failure=None)])
    assert "last stop: UNDEFINED (SUCCESSFUL_FINISH)" in text


def test_a_failure_reason_is_not_read_as_markup() -> None:
    text = _text([_job("failed", failure="[bold]HTTP 500[/bold]")])
    assert "failed: [bold]HTTP 500[/bold]" in text

"""``uidt dumpsys``: the scheduler's state as text laid out like Android's ``dumpsys jobscheduler``.

Sections with a title line (``Settings:``, ``Registered N jobs:``, ``Pending queue:``, ``Active
jobs:``, …), one indented block per job headed ``JOB #APP/ID``, and ``key=value`` pairs below
(strings with spaces in double quotes). Ended jobs are one line each, the newest
:data:`ENDED_SHOWN` only; ``--json`` prints everything, as the daemon sends it.
"""

from __future__ import annotations

import json
from typing import Any

import click

from uidt.cli.context import CliContext, pass_cli, print_json
from uidt.job.reasons import completed, pending_words, stop_reason_text

#: How many ended jobs the text shows (the daemon keeps the last 100; ``--json`` has them all).
ENDED_SHOWN = 20
#: How many history entries each job block shows (its newest).
HISTORY_SHOWN = 3
#: The sections drawn from these keys of the dump; any other key gets a generic section.
_KNOWN = frozenset(
    {
        "settings",
        "device",
        "device_sources",
        "apps",
        "concurrency",
        "jobs",
        "ended",
        "notifications",
        "anrs",
        "crashes",
    }
)
_INDENT = "  "


@click.command()
@click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")
@pass_cli
def dumpsys(cli: CliContext, json_output: bool) -> None:
    """The scheduler's whole state, laid out like Android's `dumpsys jobscheduler`."""
    data = cli.request("GET", "/v1/dumpsys")
    if cli.json_output or json_output:
        print_json(data)
        return
    click.echo("\n".join(render(data)))


def render(data: dict[str, Any]) -> list[str]:
    """The text of ``uidt dumpsys`` for the daemon's ``GET /v1/dumpsys`` answer."""
    lines = ["UIDT JOB SCHEDULER (uidt dumpsys)"]
    sections = [
        _pairs_section("Settings", data.get("settings") or {}),
        _device(data.get("device") or {}, data.get("device_sources") or {}),
        _pairs_section("Apps", data.get("apps") or {}),
        _concurrency(data.get("concurrency") or {}),
        _jobs(data.get("jobs") or []),
        _pending_queue(data.get("jobs") or []),
        _active(data.get("concurrency") or {}),
        _notifications(data.get("notifications") or []),
        _anrs(data.get("anrs") or []),
        _crashes(data.get("crashes") or []),
        _ended(data.get("ended") or []),
    ]
    sections += [_generic(key, value) for key, value in data.items() if key not in _KNOWN]
    for section in sections:
        lines += ["", *section]
    return lines


# -- values --------------------------------------------------------------------------------------


def value_text(value: Any) -> str:
    """One value as ``key=value`` shows it: ``true``, ``none``, ``a,b``, ``"two words"``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ",".join(value_text(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return " ".join(pairs(value)) or "none"
    text = str(value)
    if text == "" or any(c.isspace() or c in "\"'={}[]," for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


def pairs(data: dict[str, Any], prefix: str = "") -> list[str]:
    """``key=value`` items of ``data``; nested objects become ``outer.inner=value``."""
    out: list[str] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += pairs(value, f"{name}.")
        else:
            out.append(f"{name}={value_text(value)}")
    return out


def _time(iso: Any) -> str:
    """``2026-11-30T16:46:22.260000+00:00`` → ``2026-11-30 16:46:22.260Z``."""
    if not isinstance(iso, str) or "T" not in iso:
        return value_text(iso)
    day, _, clock = iso.partition("T")
    clock = clock.removesuffix("+00:00")
    whole, dot, fraction = clock.partition(".")
    return f"{day} {whole}{dot}{fraction[:3]}Z"


def _job_name(job: dict[str, Any]) -> str:
    """``#APP/ID``, or ``#APP/NAMESPACE:ID`` for a job in a namespace."""
    ns = job.get("namespace")
    ident = f"{ns}:{job.get('job_id')}" if ns else str(job.get("job_id"))
    return f"#{job.get('app')}/{ident}"


def _title(name: str, items: list[Any] | None = None) -> str:
    return f"{name} ({len(items)}):" if items is not None else f"{name}:"


def _none_if_empty(lines: list[str]) -> list[str]:
    return lines or [f"{_INDENT}(none)"]


# -- sections ------------------------------------------------------------------------------------


def _pairs_section(name: str, data: dict[str, Any]) -> list[str]:
    return [_title(name), *_none_if_empty([_INDENT + p for p in pairs(data)])]


def _device(device: dict[str, Any], sources: dict[str, Any]) -> list[str]:
    """Each reading with where it came from when the daemon says so (``wifi (fake)``)."""
    if sources:
        body = [  # "wifi (fake)": the value, then its source, as the daemon words them
            f"{_INDENT}{key}={value if isinstance(value, str) else value_text(value)}"
            for key, value in sources.items()
        ]
    else:
        body = [_INDENT + p for p in pairs(device)]
    return [_title("Device"), *_none_if_empty(body)]


def _concurrency(data: dict[str, Any]) -> list[str]:
    summary = {k: v for k, v in data.items() if k != "runs"}
    return [
        _title("Concurrency"),
        *_none_if_empty([_INDENT + " ".join(pairs(summary))] if summary else []),
    ]


def _jobs(jobs: list[dict[str, Any]]) -> list[str]:
    lines = [f"Registered {len(jobs)} jobs:"]
    for job in jobs:
        lines += _job_block(job)
    return lines


def _job_block(job: dict[str, Any]) -> list[str]:
    i2 = _INDENT * 2
    head = f"{_INDENT}JOB {_job_name(job)}: state={value_text(job.get('state'))}"
    lines = [f"{head} service={value_text(job.get('service'))}"]
    lines.append(
        f"{i2}user_initiated={value_text(job.get('user_initiated'))} "
        f"internal_flags={value_text(job.get('internal_flags'))} "
        f"earliest_run_time={_time(job.get('earliest_run_time'))}"
    )
    if job.get("required_host_labels"):
        lines.append(f"{i2}required_host_labels={value_text(job['required_host_labels'])}")
    if job.get("pending_reasons") and job.get("state") not in ("active", "finished", "cancelled"):
        words = pending_words(
            [int(r) for r in job["pending_reasons"]], job.get("required_host_labels") or ()
        )
        lines.append(f"{i2}pending={value_text('; '.join(words))}")
    lines.append(
        f"{i2}num_failures={value_text(job.get('num_failures'))} "
        f"num_system_stops={value_text(job.get('num_system_stops'))} "
        f"cumulative_runtime_ms={value_text(job.get('cumulative_runtime_ms'))}"
    )
    last = stop_reason_text(job.get("stop_reason"), job.get("internal_stop_reason"))
    if last is not None:
        lines.append(f"{i2}last_stop={value_text(last)}")
    lines.append(
        f"{i2}bytes: "
        + " ".join(
            f"{name}={value_text(job.get(f'{name}_bytes'))}"
            for name in (
                "estimated_download",
                "estimated_upload",
                "transferred_download",
                "transferred_upload",
            )
        )
    )
    note = job.get("notification")
    if isinstance(note, dict):
        lines.append(f"{i2}notification: {' '.join(pairs(note))}")
    history = job.get("history") or []
    if history:
        shown = history[-HISTORY_SHOWN:]
        lines.append(f"{i2}history (last {len(shown)} of {len(history)}):")
        for entry in shown:
            reason = value_text(entry.get("reason"))
            lines.append(f"{i2}{_INDENT}{_time(entry.get('time'))} {entry.get('state')}: {reason}")
    return lines


def _pending_queue(jobs: list[dict[str, Any]]) -> list[str]:
    queued = [j for j in jobs if j.get("state") == "pending"]
    return [
        _title("Pending queue", queued),
        *_none_if_empty([_INDENT + _job_name(j) for j in queued]),
    ]


def _active(concurrency: dict[str, Any]) -> list[str]:
    runs = concurrency.get("runs") or []
    body = []
    for run in runs:
        rest = {k: v for k, v in run.items() if k not in ("run_id", "app", "job_id")}
        name = f"#{run.get('app')}/{run.get('job_id')}"
        body.append(f"{_INDENT}run {run.get('run_id')}: {name} {' '.join(pairs(rest))}")
    return [_title("Active jobs", runs), *_none_if_empty(body)]


def _notifications(items: list[dict[str, Any]]) -> list[str]:
    body = []
    for n in items:
        rest = {k: v for k, v in n.items() if k not in ("app", "id")}
        body.append(f"{_INDENT}{n.get('app')} #{n.get('id')}: {' '.join(pairs(rest))}")
    return [_title("Notifications", items), *_none_if_empty(body)]


def _anrs(items: list[dict[str, Any]]) -> list[str]:
    body = [
        f"{_INDENT}{_time(a.get('time'))} {a.get('app')} job={value_text(a.get('job_id'))} "
        f"reason={value_text(a.get('reason'))}"
        for a in items
    ]
    return [_title("ANRs", items), *_none_if_empty(body)]


def _crashes(items: list[dict[str, Any]]) -> list[str]:
    """One line per crash: where, and the traceback's last line (``--json`` has it whole)."""
    body = []
    for crash in items:
        trace = [line for line in str(crash.get("traceback") or "").splitlines() if line.strip()]
        what = trace[-1].strip() if trace else "?"
        rest = {k: v for k, v in crash.items() if k not in ("app", "traceback")}
        body.append(f"{_INDENT}{crash.get('app')} {' '.join(pairs(rest))} error={value_text(what)}")
    return [_title("Crashes", items), *_none_if_empty(body)]


def _ended(items: list[dict[str, Any]]) -> list[str]:
    """The newest :data:`ENDED_SHOWN` ended jobs, newest first, one line each."""
    shown = list(reversed(items[-ENDED_SHOWN:]))
    title = f"Ended jobs (newest {len(shown)} of {len(items)}; --json has them all):"
    if len(shown) == len(items):
        title = _title("Ended jobs", items)
    body = []
    for job in shown:
        history = job.get("history") or []
        when = _time(history[-1].get("time")) if history else "?"
        reasons = job.get("stop_reason"), job.get("internal_stop_reason")
        last = stop_reason_text(*reasons)
        done = completed(job.get("state"), *reasons, job.get("incomplete"))
        body.append(
            f"{_INDENT}{when} JOB {_job_name(job)}: state={value_text(job.get('state'))} "
            f"completed={value_text(done)} "
            f"last_stop={value_text(last)} num_failures={value_text(job.get('num_failures'))} "
            f"cumulative_runtime_ms={value_text(job.get('cumulative_runtime_ms'))}"
        )
    return [title, *_none_if_empty(body)]


def _generic(key: str, value: Any) -> list[str]:
    """A key this renderer does not know (a newer daemon's): ``key=value`` lines, one per item."""
    title = key.replace("_", " ").capitalize()
    if isinstance(value, list):
        body = [
            _INDENT + (" ".join(pairs(v)) if isinstance(v, dict) else value_text(v)) for v in value
        ]
        return [_title(title, value), *_none_if_empty(body)]
    if isinstance(value, dict):
        return _pairs_section(title, value)
    return [_title(title), f"{_INDENT}{value_text(value)}"]

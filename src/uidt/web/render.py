"""HTML for the Task Manager's live region, drawn from the view model (:mod:`uidt.web.view`).

The same fragment is served inside the first page and pushed by server-sent events; the page's
script patches it in place (so focus and open ``<details>`` survive updates). Every value is
escaped. Forms work without the script too (they carry the CSRF token as a field).
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from uidt.units import human_bytes

#: A text symbol next to each state, so state never depends on colour alone.
STATE_MARKS = {
    "active": "▶",
    "pending": "◔",
    "ready": "◔",
    "waiting": "○",
    "user-stopped": "■",
    "finished": "✓",
    "failed": "⚠",
    "cancelled": "✕",
}


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _job_label(job: dict[str, Any]) -> str:
    ns = job.get("namespace")
    return f"job {ns}:{job['job_id']}" if ns else f"job {job['job_id']}"


def _csrf_field(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{_e(csrf)}">'


def _state(job: dict[str, Any]) -> str:
    mark = "⚠" if job.get("incomplete") else STATE_MARKS.get(job["state"], "•")
    return (
        f'<span class="state state-{_e(job["state"])}">'
        f'<span aria-hidden="true">{mark}</span> {_e(job["state_words"])}</span>'
    )


def _progress(job: dict[str, Any]) -> str:
    bar_id = f"{job['id']}-bar"
    label = f'<label class="sr" for="{bar_id}">Progress of {_e(_job_label(job))}</label>'
    progress = job.get("progress")
    if progress is None:
        return f'{label}<progress id="{bar_id}" max="1">in progress</progress>'
    pct = f"{progress * 100:.0f}%"
    return (
        f'{label}<progress id="{bar_id}" max="1" value="{progress:.4f}">{pct}</progress>'
        f' <span class="pct" id="{job["id"]}-pct">{pct}</span>'
    )


def _history(job: dict[str, Any]) -> str:
    entries = job.get("history") or []
    if not entries:
        return ""
    items = []
    for entry in reversed(entries):
        when = str(entry.get("time") or "")
        shown = when[11:19] + " UTC" if len(when) >= 19 else when
        reason = entry.get("reason") or ""
        items.append(
            f'<li><time datetime="{_e(when)}">{_e(shown)}</time> {_e(entry.get("state", ""))}'
            + (f" — {_e(reason)}" if reason else "")
            + "</li>"
        )
    return (
        f'<details id="{job["id"]}-history"><summary>History ({len(entries)})</summary>'
        f"<ol>{''.join(items)}</ol></details>"
    )


def _timeline_link(job: dict[str, Any], dom_id: str | None = None) -> str:
    """A link to the job's timeline picture (``uidt.web.timeline``)."""
    path = f"/jobs/{quote(str(job['app']), safe='')}/{int(job['job_id'])}/timeline.svg"
    if job.get("namespace"):
        path += "?namespace=" + quote(str(job["namespace"]), safe="")
    label = f"Timeline of {_job_label(job)} of {job['app']}"
    return (
        f'<p class="timeline"><a href="{_e(path)}" id="{dom_id or job["id"]}-timeline" '
        f'aria-label="{_e(label)}">Timeline: why it waited or stopped</a></p>'
    )


def _facts(job: dict[str, Any]) -> str:
    facts = [_e(_job_label(job))]
    if job["bytes_total"] > 0:
        facts.append(f"{human_bytes(job['bytes_done'])} of {human_bytes(job['bytes_total'])}")
    elif job["bytes_done"]:
        facts.append(human_bytes(job["bytes_done"]))
    if job["state"] == "active":
        rate = "—" if job.get("rate") is None else f"{human_bytes(job['rate'])}/s"
        facts.append(f'<span class="rate" title="transfer rate">{rate}</span>')
    if job["num_failures"]:
        facts.append(f"{job['num_failures']} failure(s)")
    return f'<p class="facts">{" · ".join(facts)}</p>'


def _buttons(app: str, notification_id: Any, title: str, actions: list[Any], csrf: str) -> str:
    """One small form per notification action; a click POSTs it (with the session's token)."""
    if notification_id is None or not actions:
        return ""
    forms = "".join(
        f'<form method="post" action="/api/notifications/click" class="action" '
        f'data-done="{_e(a["title"])}: {_e(title)}">{_csrf_field(csrf)}'
        f'<input type="hidden" name="app" value="{_e(app)}">'
        f'<input type="hidden" name="notification_id" value="{_e(notification_id)}">'
        f'<input type="hidden" name="action_id" value="{_e(a["id"])}">'
        f'<button type="submit" class="action" data-action="{_e(a["id"])}" '
        f'aria-label="{_e(a["title"])}: {_e(title)}">{_e(a["title"])}</button></form>'
        for a in actions
    )
    return f'<div class="actions">{forms}</div>'


def _running_job(job: dict[str, Any], csrf: str) -> str:
    title = job["title"] or _job_label(job).capitalize()
    text = f'<p class="text">{_e(job["text"])}</p>' if job["text"] else ""
    buttons = _buttons(job["app"], job.get("notification_id"), title, job["actions"], csrf)
    return (
        f'<li class="job" id="{job["id"]}" data-state="{_e(job["state"])}">'
        f'<p class="title">{_e(title)}</p>{text}'
        f'<p class="bar">{_progress(job)}</p>{buttons}{_facts(job)}{_stop_line(job)}'
        f"{_history(job)}{_timeline_link(job)}</li>"
    )


def _stop_line(job: dict[str, Any]) -> str:
    if job.get("failure"):
        line = f'<p class="failure">Failed: {_e(job["failure"])}</p>'
    elif job.get("last_stop"):
        line = f'<p class="last-stop">Last stop: {_e(job["last_stop"])}</p>'
    else:
        line = ""
    if job.get("last_crash"):
        line += f'<p class="last-crash">Last crash: {_e(job["last_crash"])}</p>'
    return line


def _app(app: dict[str, Any], csrf: str) -> str:
    name = app["app"]
    jobs = "".join(_running_job(job, csrf) for job in app["jobs"])
    count = len(app["jobs"])
    return (
        f'<li class="app" id="{app["id"]}" data-app="{_e(name)}">'
        f'<div class="app-head"><h3>{_e(name)}</h3>'
        f'<form method="post" action="/api/apps/{_e(quote(name, safe=""))}/stop" '
        f'data-done="Stopped {_e(name)}">{_csrf_field(csrf)}'
        f'<button type="submit" class="stop" id="{app["id"]}-stop" '
        f'aria-label="Stop {_e(name)}">Stop</button></form></div>'
        f'<p class="count">{count} running user-initiated job{"s" if count != 1 else ""}</p>'
        f'<ul class="jobs">{jobs}</ul></li>'
    )


def _waiting_job(job: dict[str, Any], csrf: str) -> str:
    label = _job_label(job)
    why = "".join(f"<li>{_e(w)}</li>" for w in job["pending"])
    why_html = f'<ul class="why">{why}</ul>' if why else ""
    title = f'<p class="text">{_e(job["title"])}</p>' if job["title"] else ""
    cancel = ""
    if job["cancellable"]:
        cancel = (
            f'<form method="post" action="/api/jobs/cancel" '
            f'data-done="Cancelled {_e(label)} of {_e(job["app"])}">{_csrf_field(csrf)}'
            f'<input type="hidden" name="app" value="{_e(job["app"])}">'
            f'<input type="hidden" name="namespace" value="{_e(job["namespace"] or "")}">'
            f'<input type="hidden" name="job_id" value="{_e(job["job_id"])}">'
            f'<button type="submit" class="cancel" id="{job["id"]}-cancel" '
            f'aria-label="Cancel {_e(label)} of {_e(job["app"])}">Cancel</button></form>'
        )
    when = ""
    if job.get("earliest_run_time") and job["state"] != "user-stopped":
        when = f'<p class="facts">Not before {_e(job["earliest_run_time"])}</p>'
    return (
        f'<li class="job" id="{job["id"]}" data-state="{_e(job["state"])}">'
        f'<div class="app-head"><p class="title">{_e(job["app"])} — {_e(label)}</p>{cancel}</div>'
        f"{title}<p>{_state(job)}</p>{why_html}{when}{_stop_line(job)}{_history(job)}"
        f"{_timeline_link(job)}</li>"
    )


def _ended_job(job: dict[str, Any]) -> str:
    return (
        f'<li class="job" id="{job["id"]}-ended" data-state="{_e(job["state"])}">'
        f'<p class="title">{_e(job["app"])} — {_e(_job_label(job))}</p>'
        f"<p>{_state(job)}</p>{_stop_line(job)}{_timeline_link(job, job['id'] + '-ended')}</li>"
    )


def _notification(note: dict[str, Any], csrf: str) -> str:
    text = f" — {_e(note['text'])}" if note["text"] else ""
    buttons = _buttons(
        note["app"], note.get("notification_id"), note["title"], note.get("actions", []), csrf
    )
    return (
        f'<li id="{note["id"]}"><strong>{_e(note["app"])}</strong>: {_e(note["title"])}{text}'
        f"{buttons}</li>"
    )


def _stop_form(name: str, dom: str, csrf: str, label: str) -> str:
    return (
        f'<form method="post" action="/api/apps/{_e(quote(name, safe=""))}/stop" '
        f'data-done="{_e(label)}">{_csrf_field(csrf)}'
        f'<button type="submit" class="stop" id="{dom}-stop" '
        f'aria-label="Stop {_e(name)}">Stop</button></form>'
    )


def _other_job(job: dict[str, Any]) -> str:
    text = " — ".join(_e(x) for x in (job["title"], job["text"]) if x)
    stop = f'<p class="stop-request">{_e(job["stop"])}</p>' if job["stop"] else ""
    return (
        f'<li class="job other" id="{job["id"]}" data-host="{_e(job["host"])}">'
        f'<p class="title">{_e(_job_label(job))} on <span class="host">{_e(job["host"])}</span>'
        f"</p><p>{_e(job['state_words'])}</p>"
        + (f'<p class="text">{text}</p>' if text else "")
        + f"{stop}</li>"
    )


def _other_hosts(view: dict[str, Any], csrf: str) -> str:
    """The jobs other hosts hold (a shared store), by app, each app with its Stop."""
    here = _e(view["host_id"])
    parts = [
        '<section aria-labelledby="h-hosts"><h2 id="h-hosts">Other hosts</h2>'
        f'<p class="facts">This host: <span class="host" id="this-host">{here}</span>. '
        "Stop reaches every host; a stop sent reads stopped once its host did it.</p>"
    ]
    if not view["other_apps"]:
        parts.append('<p class="empty">No job on another host.</p></section>')
        return "".join(parts)
    parts.append('<ul class="apps">')
    for app in view["other_apps"]:
        name = app["app"]
        parts.append(
            f'<li class="app other" id="{app["id"]}" data-app="{_e(name)}">'
            f'<div class="app-head"><h3>{_e(name)}</h3>'
            f"{_stop_form(name, app['id'], csrf, f'Stop of {name} sent to every host')}</div>"
            f'<ul class="jobs">{"".join(_other_job(j) for j in app["jobs"])}</ul></li>'
        )
    parts.append("</ul></section>")
    return "".join(parts)


def render_fragment(view: dict[str, Any], csrf: str) -> str:
    """The live part of the page for one session (its CSRF token goes into the forms)."""
    parts = ['<section aria-labelledby="h-running"><h2 id="h-running">Running</h2>']
    if view["apps"]:
        parts.append('<ul class="apps">')
        parts += [_app(app, csrf) for app in view["apps"]]
        parts.append("</ul>")
    else:
        parts.append('<p class="empty">No app is running a user-initiated job.</p>')
    parts.append("</section>")
    parts.append('<section aria-labelledby="h-waiting"><h2 id="h-waiting">Waiting</h2>')
    if view["waiting"]:
        parts.append('<ul class="jobs">')
        parts += [_waiting_job(job, csrf) for job in view["waiting"]]
        parts.append("</ul>")
    else:
        parts.append('<p class="empty">No job is waiting.</p>')
    parts.append("</section>")
    if view.get("host_id"):
        parts.append(_other_hosts(view, csrf))
    if view["notifications"]:
        parts.append(
            '<section aria-labelledby="h-notes"><h2 id="h-notes">Notifications</h2><ul>'
            + "".join(_notification(n, csrf) for n in view["notifications"])
            + "</ul></section>"
        )
    if view["ended"]:
        parts.append(
            '<section aria-labelledby="h-ended"><h2 id="h-ended">Recently ended</h2>'
            '<ul class="jobs">' + "".join(_ended_job(j) for j in view["ended"]) + "</ul></section>"
        )
    return "".join(parts)

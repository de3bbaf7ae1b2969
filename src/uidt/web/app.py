"""The Task Manager web app (Starlette): the page, its live feed, Stop and Cancel.

Routes:
    ``GET /login?token=CODE``: redeem a one-time login code, set the session cookie, go to ``/``.
    ``GET /``: the page. ``GET /api/state``: the view as JSON.
    ``GET /api/events``: server-sent events; ``event: state`` with ``{"version", "html"}`` whenever
    the view changes. ``POST /api/apps/{app}/stop``: the Task Manager's Stop.
    ``POST /api/jobs/cancel`` (fields ``app``, ``namespace``, ``job_id``): cancel a job that is not
    running; answers ``{"cancelled": true, "message"}``, or for a job that ended before the
    request came ``{"cancelled": false, "state", "message"}`` (200, not a refusal: the page's
    button may be older than the job's end); 404 only for a job it never knew.
    ``POST /api/bandwidth-limit`` (field ``limit``: a rate, ``off``, a timetable or ``reset``):
    change the global transfer limit while transfers run; a bad form is a 400 naming the fault.
    ``GET /jobs/{app}/{job_id}/timeline.svg[?namespace=NS]``: the job's timeline picture
    (:mod:`uidt.web.timeline`), for a scheduled job or one among the last ended; 404 for a job the
    app does not have, 400 for an id that is not a whole number.
    ``POST /api/notifications/click`` (fields ``app``, ``notification_id``, ``action_id``:
    not ``id`` or ``action``, which would hide the form's own properties in the page's script): a click on a
    notification's button, handed to the daemon as any click is (a user-interaction grant and the
    app's ``on_notification_action``); 404 with the reason for a notification the app does not
    show or an action it does not have. ``POST /logout``.

Authentication and CSRF are described in :mod:`uidt.web.auth`.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from uidt.clock import Clock, SystemClock
from uidt.errors import SettingsError, UidtError
from uidt.web.auth import COOKIE_NAME, CSRF_FIELD, CSRF_HEADER, LOOPBACK_HOSTS, WebAuth, host_name
from uidt.web.feed import MIN_REFRESH_MS, SnapshotFeed
from uidt.web.page import message_page, render_limit, render_page
from uidt.web.protocol import TaskManagerRuntime
from uidt.web.render import render_fragment
from uidt.web.timeline import job_timeline_svg
from uidt.web.view import LIVE_STATES, STATE_WORDS

log = logging.getLogger("uidt.web")

#: A comment line is sent on an idle event stream this often, so dead clients are noticed.
HEARTBEAT_S = 15.0
MAX_FORM_BYTES = 4096

NOT_SIGNED_IN = (
    "Not signed in",
    "Open the link that `uidt ui` prints to use the Task Manager.",
)


class GuardMiddleware:
    """Loopback ``Host`` only, a session for everything but ``/login``, same-origin POSTs, and
    security headers on every response."""

    def __init__(self, app: ASGIApp, auth: WebAuth, allowed_hosts: frozenset[str]) -> None:
        self.app = app
        self.auth = auth
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["nonce"] = nonce
        send = _with_security_headers(send, nonce)
        host = headers.get("host", "")
        if host_name(host) not in self.allowed_hosts:
            await PlainTextResponse("unknown host", status_code=421)(scope, receive, send)
            return
        if scope["path"] == "/login":
            await self.app(scope, receive, send)
            return
        session = Request(scope).cookies.get(COOKIE_NAME)
        if session is None or not self.auth.valid_session(session):
            await _refuse(scope, 401, *NOT_SIGNED_IN)(scope, receive, send)
            return
        origin = headers.get("origin")
        if scope["method"] == "POST" and origin is not None and origin != f"http://{host}":
            await _refuse(scope, 403, "Forbidden", "cross-origin request")(scope, receive, send)
            return
        scope["state"]["session"] = session
        await self.app(scope, receive, send)


def _with_security_headers(send: Send, nonce: str) -> Send:
    policy = (
        "default-src 'none'; connect-src 'self'; img-src 'self'; form-action 'self'; "
        f"script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers["content-security-policy"] = policy
            headers["x-content-type-options"] = "nosniff"
            headers["referrer-policy"] = "no-referrer"
            headers["x-frame-options"] = "DENY"
            headers.setdefault("cache-control", "no-store")
        await send(message)

    return wrapped


def _wants_json(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    return "application/json" in headers.get("accept", "") or scope["path"].startswith("/api/")


def _refuse(scope: Scope, status: int, title: str, message: str) -> Response:
    if _wants_json(scope):
        return JSONResponse({"error": message}, status_code=status)
    return _message(scope, title, message, status)


def _message(scope: Scope, title: str, message: str, status: int) -> Response:
    nonce = str(scope.get("state", {}).get("nonce", ""))
    return HTMLResponse(_with_nonce(message_page(title, message), nonce), status_code=status)


def create_web_app(
    runtime: TaskManagerRuntime,
    token: str,
    *,
    clock: Clock | None = None,
    min_refresh_ms: int = MIN_REFRESH_MS,
    heartbeat_s: float = HEARTBEAT_S,
    allowed_hosts: frozenset[str] = LOOPBACK_HOSTS,
) -> Starlette:
    """Build the Task Manager app for a runtime.

    The app registers its feed as one of ``runtime.notification_sinks``. ``app.state.auth`` is
    the :class:`~uidt.web.auth.WebAuth` (mint login codes with ``new_login_code()``) and
    ``app.state.feed`` the :class:`~uidt.web.feed.SnapshotFeed`.

    Args:
        runtime: the daemon's runtime (see :class:`~uidt.web.protocol.TaskManagerRuntime`).
        token: the per-daemon secret (:func:`uidt.web.auth.new_token`).
        clock: time source (rates, login code expiry).
        min_refresh_ms: the runtime is read at most this often while a page is open.
        heartbeat_s: idle event streams get a comment line this often.
        allowed_hosts: ``Host`` names accepted (loopback names).
    """
    clock = clock or SystemClock()
    auth = WebAuth(token, clock)
    feed = SnapshotFeed(runtime, clock, min_refresh_ms)
    runtime.notification_sinks.append(feed.sink)
    poll_s = min_refresh_ms / 1000

    def session_of(request: Request) -> str:
        return str(request.state.session)

    async def login(request: Request) -> Response:
        session = auth.redeem(request.query_params.get("token", ""))
        if session is None:
            return _message(
                request.scope,
                "Login link not valid",
                "This login link was already used or has expired. Run `uidt ui` for a new one.",
                401,
            )
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE_NAME, session, httponly=True, samesite="strict", path="/")
        return response

    async def logout(request: Request) -> Response:
        await _form(request, auth)
        auth.end_session(session_of(request))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    async def index(request: Request) -> Response:
        feed.refresh_if_stale()
        csrf = auth.csrf_token(session_of(request))
        limit = render_limit(runtime.bandwidth_limit.describe())
        page = render_page(render_fragment(feed.view, csrf), csrf, feed.version, limit)
        return HTMLResponse(_with_nonce(page, request.state.nonce))

    async def state(request: Request) -> Response:
        feed.refresh_if_stale()
        return JSONResponse({"version": feed.version, "view": feed.view})

    async def events(request: Request) -> Response:
        csrf = auth.csrf_token(session_of(request))

        async def stream() -> AsyncIterator[str]:
            sent = -1
            idle_s = 0.0
            yield "retry: 2000\n\n"
            while not feed.closed:
                feed.refresh_if_stale()
                if feed.version != sent:
                    sent = feed.version
                    data = json.dumps({"version": sent, "html": render_fragment(feed.view, csrf)})
                    yield f"event: state\nid: {sent}\ndata: {data}\n\n"
                    idle_s = 0.0
                elif idle_s >= heartbeat_s:
                    yield ": keep-alive\n\n"
                    idle_s = 0.0
                await feed.wait(poll_s)
                idle_s += poll_s

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"x-accel-buffering": "no"}
        )

    async def stop(request: Request) -> Response:
        await _form(request, auth)
        app = request.path_params["app"]
        try:
            done = await runtime.fleet.stop_app(app)
        except (UidtError, LookupError, ValueError) as exc:
            return _answer(request, {"error": str(exc)}, 404)
        feed.poke()
        log.info("Task Manager: stopped %s from the web page", app)
        return _answer(request, {"app": app, **done})

    async def cancel(request: Request) -> Response:
        form = await _form(request, auth)
        try:
            app = form["app"]
            namespace = form.get("namespace") or None
            job_id = int(form["job_id"])
        except (KeyError, ValueError):
            return _answer(request, {"error": "app and job_id are required"}, 400)
        ident = {"app": app, "namespace": namespace, "job_id": job_id}
        job = _find_job(runtime, app, namespace, job_id, ended=False)
        if job is not None and job.get("state") == "active":
            return _answer(request, {"error": "a running job is stopped with Stop"}, 409)
        if job is not None:
            # No await between the look-up and the cancel: the job cannot end in between.
            try:
                runtime.cancel(app, namespace, job_id)
            except (UidtError, LookupError, ValueError):
                job = None  # the app is gone (uninstalled): answer from the ended records
            else:
                feed.poke()
                label = _job_label(app, namespace, job_id)
                return _answer(
                    request, {**ident, "cancelled": True, "message": f"Cancelled {label}"}
                )
        # Not scheduled: a job that ended just before the click is answered, not refused.
        ended = _find_job(runtime, app, namespace, job_id, ended=True)
        if ended is None:
            return _answer(request, {"error": f"no job {job_id} of {app}"}, 404)
        state = str(ended.get("state"))
        words = STATE_WORDS.get(state, state).lower()
        message = f"{_job_label(app, namespace, job_id).capitalize()} had already ended ({words})"
        feed.poke()
        return _answer(request, {**ident, "cancelled": False, "state": state, "message": message})

    async def bandwidth_limit(request: Request) -> Response:
        form = await _form(request, auth)
        text = form.get("limit", "").strip()
        limiter = runtime.bandwidth_limit
        try:
            if text.lower() == "reset":
                limiter.reset()
            else:
                limiter.change(text)
        except SettingsError as exc:
            return _answer(request, {"error": str(exc)}, 400)
        message = f"Bandwidth limit: {limiter.describe()}"
        log.info("Task Manager: %s", message)
        return _answer(request, {"limit": text, "message": message})

    async def timeline(request: Request) -> Response:
        app, raw = request.path_params["app"], request.path_params["job_id"]
        try:
            job_id = int(raw)
        except ValueError:
            return _refuse(request.scope, 400, "Bad request", f"job id {raw!r} is not a number")
        namespace = request.query_params.get("namespace") or None
        try:
            svg = job_timeline_svg(runtime, app, namespace, job_id, clock.utc())
        except (UidtError, LookupError, ValueError):
            svg = None  # the app is gone, or the runtime refused the look-up
        if svg is None:
            label = _job_label(app, namespace, job_id)
            return _refuse(request.scope, 404, "Not found", f"no {label}")
        return Response(svg, media_type="image/svg+xml")

    async def click(request: Request) -> Response:
        form = await _form(request, auth)
        try:
            app, notification_id, action = (
                form["app"],
                int(form["notification_id"]),
                form["action_id"],
            )
        except (KeyError, ValueError):
            return _answer(
                request, {"error": "app, notification_id and action_id are required"}, 400
            )
        try:
            clicked = runtime.click_notification_action(app, notification_id, action)
        except (UidtError, LookupError, ValueError) as exc:
            return _answer(request, {"error": str(exc)}, 404)
        feed.poke()
        return _answer(request, {**clicked, "message": f"Clicked {action}"})

    web = Starlette(
        routes=[
            Route("/login", login, methods=["GET"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/", index, methods=["GET"]),
            Route("/api/state", state, methods=["GET"]),
            Route("/api/events", events, methods=["GET"]),
            Route("/api/apps/{app}/stop", stop, methods=["POST"]),
            Route("/api/jobs/cancel", cancel, methods=["POST"]),
            Route("/api/bandwidth-limit", bandwidth_limit, methods=["POST"]),
            Route("/jobs/{app}/{job_id}/timeline.svg", timeline, methods=["GET"]),
            Route("/api/notifications/click", click, methods=["POST"]),
        ],
        middleware=[Middleware(GuardMiddleware, auth=auth, allowed_hosts=allowed_hosts)],
        exception_handlers={_CsrfRejected: _csrf_rejected},
    )
    web.state.auth = auth
    web.state.feed = feed
    return web


def _find_job(
    runtime: TaskManagerRuntime, app: str, namespace: str | None, job_id: int, *, ended: bool
) -> dict[str, Any] | None:
    """The job's scheduled record, or (``ended``) its newest ended one; ``None`` if none."""
    try:
        jobs = runtime.jobs_snapshot(app, include_finished=ended)
    except (UidtError, LookupError, ValueError):
        return None
    found = [
        j
        for j in jobs
        if j["job_id"] == job_id
        and j.get("namespace") == namespace
        and (j.get("state") not in LIVE_STATES) == ended
    ]
    return found[-1] if found else None


def _job_label(app: str, namespace: str | None, job_id: int) -> str:
    return f"job {namespace}:{job_id} of {app}" if namespace else f"job {job_id} of {app}"


class _CsrfRejected(UidtError, PermissionError):
    """A state-changing request without the session's CSRF token."""


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    return _refuse(request.scope, 403, "Forbidden", str(exc))


async def _form(request: Request, auth: WebAuth) -> dict[str, str]:
    """Read a small urlencoded form and check the CSRF token (header or ``csrf`` field)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise _CsrfRejected("request body too large")
    form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    presented = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not auth.valid_csrf(str(request.state.session), presented):
        raise _CsrfRejected("missing or wrong CSRF token")
    return form


def _answer(request: Request, data: dict[str, Any], status: int = 200) -> Response:
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(data, status_code=status)
    if status >= 400:
        return _message(request.scope, "Not done", str(data.get("error")), status)
    return RedirectResponse("/", status_code=303)


def _with_nonce(page: str, nonce: str) -> str:
    return page.replace("<style>", f'<style nonce="{nonce}">', 1).replace(
        "<script>", f'<script nonce="{nonce}">', 1
    )

"""The daemon's control API: HTTP + JSON over the private Unix socket (and loopback TCP for the web page).

Every handler validates its input, calls the scheduler through the :class:`Runtime` (which runs
the core on this one event loop, so there are no locks), and answers JSON. A malformed request
gets a 4xx with a message, never a 500. The OpenAPI description is served at ``/v1/openapi.json``.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from typing import TYPE_CHECKING, cast

from uidt.connlimit import connection_cap
from uidt.daemon.apibody import MAX_BODY, read_body
from uidt.daemon.appsapi import add_routes as add_app_routes
from uidt.daemon.httpd import Handler, HTTPServer, Request, Response, Router, json_response
from uidt.daemon.notificationapi import add_routes as add_notification_routes
from uidt.daemon.peer import PeerCredentials, peer_credentials
from uidt.daemon.tracking import schedule_tracked
from uidt.errors import InvalidJobError, ProtocolError, StoreError, UidtError
from uidt.job.info import JobInfo
from uidt.job.namespace import validate_namespace
from uidt.job.work import JobWorkItem
from uidt.wire import error_to_wire

if TYPE_CHECKING:
    from uidt.daemon.runtime import Runtime

log = logging.getLogger("uidt.daemon")

_json = json_response


async def error_middleware(request: Request, handler: Handler) -> Response:
    try:
        return await handler(request)
    except (UidtError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, UidtError):
            body, status = error_to_wire(exc)
        else:
            body, status = {"error": {"type": "protocol", "message": f"bad request: {exc}"}}, 400
        return _json(body, status)


async def peer_middleware(request: Request, handler: Handler) -> Response:
    """Refuse Unix-socket peers that are not this user (``SO_PEERCRED``)."""
    creds = _peer(request)
    if creds is not None and creds.uid != os.getuid():
        return _json({"error": {"type": "permission", "message": "not your daemon"}}, 403)
    return await handler(request)


async def durable_middleware(request: Request, handler: Handler) -> Response:
    """A request that queued store writes is answered once they are on disk.

    The runtime only queues store writes (``uidt.store.writer``); this is the barrier that keeps
    ``cancel()``, installs and the rest durable before they answer. A request that queued nothing
    (a read, ``shutdown``) answers at once, and so does one whose handler made its own writes
    durable (``request.durable``: ``schedule()``, which stores its job before the core takes it
    in, :mod:`uidt.daemon.scheduling`).
    """
    writer = _rt(request).store
    mark = writer.queued
    try:
        return await handler(request)
    finally:
        if writer.queued != mark and not request.durable:
            await writer.sync()


def _peer(request: Request) -> PeerCredentials | None:
    # asyncio hands out a TransportSocket wrapper (getsockopt and family work on it).
    if request.sock is not None and request.sock.family == socket.AF_UNIX:
        return peer_credentials(request.sock)
    return None


def _namespace(request: Request) -> str | None:
    ns = request.query.get("namespace")
    if ns is None:
        return None
    return validate_namespace(ns)


def _flag(request: Request, name: str) -> bool:
    return request.query.get(name, "") in ("1", "true", "yes")


def _job_id(request: Request) -> int:
    raw = request.match_info["job_id"]
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidJobError(f"job id must be an integer, not {raw!r}") from exc
    if not -(2**31) <= value < 2**31:
        raise InvalidJobError(f"job id {value} does not fit in 32 bits")
    return value


def _rt(request: Request) -> Runtime:
    return cast("Runtime", request.context)


# -- handlers ----------------------------------------------------------------------------------


async def ping(request: Request) -> Response:
    return _json({"ok": True, "pid": os.getpid()})


async def status(request: Request) -> Response:
    """What ``uidt daemon status`` shows: pid, home, uptime, store, device, web, job counts."""
    rt = _rt(request)
    if rt.about is None:
        raise ProtocolError("the daemon is still starting")
    svc = rt.service
    running = len(svc.running)
    data = rt.about.to_dict(
        running=running, waiting=len(svc.jobs) - running, settings=svc.settings.to_dict()
    )
    return _json(data)


async def openapi(request: Request) -> Response:
    from uidt.daemon.openapi import OPENAPI  # built on first request only

    return _json(OPENAPI)


async def schedule(request: Request) -> Response:
    rt, app = _rt(request), request.match_info["app"]
    body = await read_body(request)
    namespace = body.get("namespace")
    if namespace is not None:
        namespace = validate_namespace(namespace)
    if not isinstance(body.get("job"), dict):
        raise InvalidJobError("'job' must be a JSON object (JobInfo.to_dict())")
    job = JobInfo.from_dict(body["job"])
    work = None
    if body.get("work") is not None:
        if not isinstance(body["work"], dict):
            raise InvalidJobError("'work' must be a JSON object (JobWorkItem.to_dict())")
        work = JobWorkItem.from_dict(body["work"])
    attach = body.get("attach", False)
    if not isinstance(attach, bool):
        raise InvalidJobError("'attach' must be true or false")
    creds = _peer(request)
    peer_pid = None if creds is None else creds.pid
    answer = await schedule_tracked(rt, app, namespace, job, work, peer_pid=peer_pid, attach=attach)
    request.durable = True  # the job itself is stored: another write's failure is not its own
    try:
        await rt.store.sync()  # what else the schedule queued (the core's own copy of the job)
    except StoreError as exc:
        log.warning("after a schedule of %s (stored): %s", app, exc)
    return _json(answer)


async def cancel_one(request: Request) -> Response:
    rt = _rt(request)
    rt.cancel(request.match_info["app"], _namespace(request), _job_id(request))
    return _json({"ok": True})


async def cancel_many(request: Request) -> Response:
    rt, app = _rt(request), request.match_info["app"]
    if _flag(request, "all_namespaces"):
        rt.cancel_in_all_namespaces(app)
    else:
        rt.cancel_all(app, _namespace(request))
    return _json({"ok": True})


async def pending_jobs(request: Request) -> Response:
    rt, app = _rt(request), request.match_info["app"]
    rt.apps.require(app)
    svc = rt.service
    if _flag(request, "all_namespaces"):
        by_ns = svc.queries.get_pending_jobs_in_all_namespaces(app)
        entries = [
            {"namespace": ns, "jobs": [j.to_dict() for j in jobs]} for ns, jobs in by_ns.items()
        ]
        return _json({"namespaces": entries})
    jobs = svc.queries.get_all_pending_jobs(app, _namespace(request))
    return _json({"jobs": [j.to_dict() for j in jobs]})


async def pending_job(request: Request) -> Response:
    rt, app = _rt(request), request.match_info["app"]
    rt.apps.require(app)
    job = rt.service.queries.get_pending_job(app, _namespace(request), _job_id(request))
    return _json({"job": None if job is None else job.to_dict()})


async def pending_reasons(request: Request) -> Response:
    rt, app = _rt(request), request.match_info["app"]
    rt.apps.require(app)
    ns, job_id = _namespace(request), _job_id(request)
    svc = rt.service
    reasons = [int(r) for r in svc.queries.get_pending_job_reasons(app, ns, job_id)]
    history = [
        [int(t), [int(r) for r in rs]]
        for t, rs in svc.queries.get_pending_job_reasons_history(app, ns, job_id)
    ]
    bytes_history = svc.queries.get_bytes_history(app, ns, job_id)
    return _json({"reasons": reasons, "history": history, "bytes": bytes_history})


async def update_constraints(request: Request) -> Response:
    rt, app = _rt(request), request.match_info["app"]
    changes = await read_body(request)
    rt.update_constraints(app, _namespace(request), _job_id(request), changes)
    return _json({"ok": True})


async def can_run_uij(request: Request) -> Response:
    rt, app = _rt(request), request.match_info["app"]
    rt.apps.require(app)
    return _json({"result": bool(rt.service.queries.can_run_user_initiated_jobs(app))})


async def open_activity(request: Request) -> Response:
    rt, app = _rt(request), request.match_info["app"]
    creds = _peer(request)
    token = rt.open_activity(app, None if creds is None else creds.pid)
    return _json({"token": token})


async def close_activity(request: Request) -> Response:
    _rt(request).close_activity(request.match_info["app"], request.match_info["token"])
    return _json({"ok": True})


#: The longest a ``GET /v1/jobs`` may wait for a change (``wait_ms``).
MAX_WAIT_MS = 2000


async def list_jobs(request: Request) -> Response:
    rt = _rt(request)
    app = request.query.get("app")
    raw_id = request.query.get("job_id")
    # One job id: what a follower asks for at each change (not the app's whole list). Not a
    # number: a 400 at once, as for ``since``.
    job_id = None if raw_id is None else int(raw_id)
    since = request.query.get("since")
    # With one job id: wait past the changes that leave that job in this state (progress).
    while_state = request.query.get("while_state")
    if while_state is not None and job_id is None:
        raise ProtocolError("while_state needs a job_id: the state of which job?")
    if since is not None:
        wait_ms = min(max(int(request.query.get("wait_ms", "0")), 0), MAX_WAIT_MS)
        unchanged = None
        if while_state is not None and job_id is not None:
            unchanged = functools.partial(_in_state, rt, app, job_id, while_state)
        await rt.changes.wait(int(since), wait_ms / 1000, unchanged=unchanged)
    jobs = rt.jobs_snapshot(app, include_finished=_flag(request, "all"), job_id=job_id)
    return _json({"jobs": jobs, "version": rt.changes.version})


def _in_state(rt: Runtime, app: str | None, job_id: int, state: str) -> bool:
    """Whether the scheduled (not ended) job ``job_id`` of ``app``, default namespace, is in
    ``state`` (an ended or replaced one is not)."""
    return any(
        job.get("namespace") is None and job.get("state") == state
        for job in rt.jobs_snapshot(app, include_finished=False, job_id=job_id)
    )


async def fleet_jobs(request: Request) -> Response:
    """Every job of the fleet (docs/fleet.md); this host's alone on a store no one shares."""
    return _json(await _rt(request).fleet.view())


async def device_history(request: Request) -> Response:
    raw = request.query.get("since_utc_ms", "0")
    try:
        since = int(raw)
    except ValueError as exc:
        raise ProtocolError(f"since_utc_ms must be a whole number, not {raw!r}") from exc
    readings = _rt(request).device_history.since(since)
    return _json({"readings": [r.to_dict() for r in readings]})


async def dumpsys(request: Request) -> Response:
    return _json(_rt(request).dump())


async def shell_cmd(request: Request) -> Response:
    body = await read_body(request)
    args = body.get("args")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ProtocolError("'args' must be a list of strings")
    result = await _rt(request).run_cmd(args)
    return _json(result)


async def get_bandwidth_limit(request: Request) -> Response:
    return _json(_rt(request).bandwidth_limit.to_dict())


async def put_bandwidth_limit(request: Request) -> Response:
    """``{"limit": "2M"}`` (a rate, ``off`` or a timetable) or ``{"limit": null}`` (back to
    the setting); answers as ``GET``. A bad form is a 400 that changes nothing."""
    body = await read_body(request)
    if "limit" not in body:
        raise ProtocolError("give 'limit': a rate (2M), 'off', a timetable, or null")
    limit = body["limit"]
    limiter = _rt(request).bandwidth_limit
    if limit is None:
        limiter.reset()
    elif isinstance(limit, str):
        limiter.change(limit)
    else:
        raise ProtocolError("'limit' must be a string (2M, off, 08:00,2M 19:00,off) or null")
    return _json(limiter.to_dict())


async def web_url(request: Request) -> Response:
    return _json({"url": _rt(request).web_login_url()})


async def shutdown(request: Request) -> Response:
    _rt(request).shutdown.request()
    return _json({"ok": True})


def create_router() -> Router:
    """Every route of the control API."""
    r = Router()
    r.add("GET", "/v1/ping", ping)
    r.add("GET", "/v1/status", status)
    r.add("GET", "/v1/openapi.json", openapi)
    add_app_routes(r)
    r.add("POST", "/v1/apps/{app}/jobs", schedule)
    r.add("GET", "/v1/apps/{app}/jobs", pending_jobs)
    r.add("DELETE", "/v1/apps/{app}/jobs", cancel_many)
    r.add("GET", "/v1/apps/{app}/jobs/{job_id}", pending_job)
    r.add("DELETE", "/v1/apps/{app}/jobs/{job_id}", cancel_one)
    r.add("GET", "/v1/apps/{app}/jobs/{job_id}/reasons", pending_reasons)
    r.add("PATCH", "/v1/apps/{app}/jobs/{job_id}/constraints", update_constraints)
    r.add("GET", "/v1/apps/{app}/can-run-user-initiated-jobs", can_run_uij)
    r.add("POST", "/v1/apps/{app}/activities", open_activity)
    r.add("DELETE", "/v1/apps/{app}/activities/{token}", close_activity)
    add_notification_routes(r, read_body)
    r.add("GET", "/v1/jobs", list_jobs)
    r.add("GET", "/v1/fleet/jobs", fleet_jobs)
    r.add("GET", "/v1/device/history", device_history)
    r.add("GET", "/v1/dumpsys", dumpsys)
    r.add("POST", "/v1/cmd", shell_cmd)
    r.add("GET", "/v1/bandwidth-limit", get_bandwidth_limit)
    r.add("PUT", "/v1/bandwidth-limit", put_bandwidth_limit)
    r.add("POST", "/v1/web/url", web_url)
    r.add("POST", "/v1/shutdown", shutdown)
    return r


def create_api(runtime: Runtime) -> HTTPServer:
    """The control API's server for ``runtime`` (start it with ``await server.start(sock)``)."""
    settings = runtime.service.settings
    return HTTPServer(
        create_router(),
        middlewares=(peer_middleware, error_middleware, durable_middleware),
        context=runtime,
        max_body=MAX_BODY,
        header_timeout=settings.http_header_timeout_ms / 1000,
        idle_timeout=settings.http_idle_timeout_ms / 1000,
        max_connections=connection_cap(settings.api_max_connections),
    )


__all__ = ["create_api", "create_router"]

"""The OpenAPI 3.1 description of the control API (served at ``/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_OBJECT: dict[str, Any] = {"type": "object"}


def _answers(ok: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "200": {"description": "OK", "content": {"application/json": {"schema": ok or _OBJECT}}},
        "400": {"description": "Bad request", "content": {"application/json": {"schema": _ERROR}}},
        "403": {"description": "Forbidden", "content": {"application/json": {"schema": _ERROR}}},
        "404": {"description": "Not found", "content": {"application/json": {"schema": _ERROR}}},
        "409": {"description": "Limit", "content": {"application/json": {"schema": _ERROR}}},
    }


def _param(name: str, where: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


_APP = _param("app", "path", {"type": "string", "minLength": 1})
_JOB = _param("job_id", "path", {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1})
_NS = _param("namespace", "query", {"type": "string"})
_ALL_NS = _param("all_namespaces", "query", {"type": "string", "enum": ["1", "0"]})


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, params: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": _answers()}
    if params:
        op["parameters"] = params
    op.update(extra)
    return op


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "uidt control API", "version": "1"},
    "paths": {
        "/v1/ping": {"get": _op("Is the daemon up")},
        "/v1/apps": {
            "get": _op("Installed apps"),
            "post": _op(
                "Install an app from its manifest",
                requestBody=_body(
                    {
                        "type": "object",
                        "required": ["manifest_path"],
                        "properties": {
                            "manifest_path": {"type": "string"},
                            "trust": {"type": "boolean"},
                        },
                    }
                ),
            ),
        },
        "/v1/apps/{app}": {"delete": _op("Uninstall an app (its jobs are dropped)", [_APP])},
        "/v1/apps/{app}/stop": {
            "post": _op(
                "The Task Manager's Stop: kill the app, drop its user-initiated jobs; on a shared "
                "store also on every other host (`sent`: the stop requests on their way)",
                [_APP],
            )
        },
        "/v1/apps/{app}/activities": {
            "post": _op("Open an activity: the app is visible until it is closed", [_APP])
        },
        "/v1/apps/{app}/activities/{token}": {
            "delete": _op("Close an activity", [_APP, _param("token", "path", {"type": "string"})])
        },
        "/v1/apps/{app}/permissions": {
            "post": _op(
                "Grant or revoke a permission",
                [_APP],
                requestBody=_body(
                    {
                        "type": "object",
                        "properties": {"grant": {"type": "string"}, "revoke": {"type": "string"}},
                    }
                ),
            )
        },
        "/v1/apps/{app}/notifications": {
            "get": _op("The app's active notifications (getActiveNotifications)", [_APP]),
            "post": _op(
                "Post or update a notification (NotificationManager.notify)",
                [_APP],
                requestBody=_body(
                    {
                        "type": "object",
                        "required": ["id", "notification"],
                        "properties": {
                            "id": {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
                            "notification": {"type": "object"},
                        },
                    }
                ),
            ),
        },
        "/v1/notifications": {
            "get": _op(
                "The notifications shown now, with their actions",
                [_param("app", "query", {"type": "string"})],
            )
        },
        "/v1/apps/{app}/notifications/{notification_id}/actions/{action}": {
            "post": _op(
                "Click an action of a notification: a user-interaction grant, and the call of "
                "the app's notification receiver",
                [
                    _APP,
                    _param("notification_id", "path", {"type": "integer"}),
                    _param("action", "path", {"type": "string", "minLength": 1}),
                ],
            )
        },
        "/v1/apps/{app}/notifications/{notification_id}": {
            "delete": _op(
                "Cancel a notification (ignored while a running user-initiated job uses it)",
                [_APP, _param("notification_id", "path", {"type": "integer"})],
            )
        },
        "/v1/apps/{app}/channels": {
            "get": _op("The app's notification channels, declared and created", [_APP]),
            "post": _op(
                "Create (or rename) a notification channel",
                [_APP],
                requestBody=_body(
                    {
                        "type": "object",
                        "required": ["id", "name"],
                        "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                    }
                ),
            ),
        },
        "/v1/apps/{app}/channels/{channel}": {
            "delete": _op(
                "Delete a created channel (refused while a running user-initiated job uses it)",
                [_APP, _param("channel", "path", {"type": "string"})],
            )
        },
        "/v1/apps/{app}/jobs": {
            "get": _op("Pending jobs of a namespace (or all)", [_APP, _NS, _ALL_NS]),
            "post": _op(
                "Schedule a job (JobInfo.to_dict()); the answer names its `generation`; with "
                "`attach` true, the same job already scheduled is kept and named instead",
                [_APP],
                requestBody=_body(
                    {
                        "type": "object",
                        "required": ["job"],
                        "properties": {
                            "namespace": {"type": ["string", "null"]},
                            "job": {"type": "object"},
                            "work": {"type": ["object", "null"]},
                            "attach": {"type": "boolean"},
                        },
                    }
                ),
            ),
            "delete": _op("Cancel all jobs of a namespace (or all)", [_APP, _NS, _ALL_NS]),
        },
        "/v1/apps/{app}/jobs/{job_id}": {
            "get": _op("One pending job", [_APP, _JOB, _NS]),
            "delete": _op("Cancel one job", [_APP, _JOB, _NS]),
        },
        "/v1/apps/{app}/jobs/{job_id}/reasons": {
            "get": _op("Pending reasons and their history", [_APP, _JOB, _NS])
        },
        "/v1/apps/{app}/jobs/{job_id}/constraints": {
            "patch": _op(
                "Change constraints of a scheduled job",
                [_APP, _JOB, _NS],
                requestBody=_body({"type": "object"}),
            )
        },
        "/v1/apps/{app}/can-run-user-initiated-jobs": {
            "get": _op("Whether the app may run user-initiated jobs", [_APP])
        },
        "/v1/device/history": {
            "get": _op(
                "The kept device readings (changes only), oldest first: those from "
                "`since_utc_ms` on and the one before it",
                [_param("since_utc_ms", "query", {"type": "integer"})],
            )
        },
        "/v1/jobs": {
            "get": _op(
                "Jobs as `uidt jobs --json`, with the state `version`; with `since` (a version) "
                "and `wait_ms`, answered once the version moves on or after `wait_ms`; with "
                "`job_id`, only the records of jobs with that id; with `job_id` and "
                "`while_state`, the wait goes on past changes that leave that job in that state",
                [
                    _param("app", "query", {"type": "string"}),
                    _param("job_id", "query", {"type": "integer"}),
                    _param("all", "query", {"type": "string", "enum": ["1", "0"]}),
                    _param("since", "query", {"type": "integer", "minimum": 0}),
                    _param("wait_ms", "query", {"type": "integer", "minimum": 0, "maximum": 2000}),
                    _param("while_state", "query", {"type": "string"}),
                ],
            )
        },
        "/v1/fleet/jobs": {
            "get": _op(
                "Every job of every host sharing the store (`uidt jobs --fleet --json`), with the "
                "host holding each; on a store no other host shares, `fleet` is false and the "
                "jobs are this host's"
            )
        },
        "/v1/dumpsys": {"get": _op("Full scheduler state")},
        "/v1/bandwidth-limit": {
            "get": _op(
                "The global limit of the running transfers: in force now, its timetable, "
                "where it comes from, each run's share"
            ),
            "put": _op(
                "Change the global limit while transfers run (a rate, off or a timetable; "
                "null: back to the bandwidth_limit setting)",
                requestBody=_body(
                    {
                        "type": "object",
                        "required": ["limit"],
                        "properties": {"limit": {"type": ["string", "null"], "maxLength": 4096}},
                    }
                ),
            ),
        },
        "/v1/web/url": {"post": _op("The Task Manager login URL (null without --web)")},
        "/v1/shutdown": {"post": _op("Stop the daemon gracefully")},
        "/v1/cmd": {
            "post": _op(
                "Run a `cmd jobscheduler` verb",
                requestBody=_body(
                    {
                        "type": "object",
                        "required": ["args"],
                        "properties": {"args": {"type": "array", "items": {"type": "string"}}},
                    }
                ),
            )
        },
    },
}

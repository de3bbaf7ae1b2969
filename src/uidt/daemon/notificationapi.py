"""The control API's routes for an app's ``NotificationManager``: its notifications and channels,
and the clicks on notification buttons (``GET /v1/notifications``, ``POST
/v1/apps/{app}/notifications/{id}/actions/{action}``: the command line's; the Task Manager page
and the desktop click through the runtime).

Each handler checks its input and hands on to ``runtime.notification_manager``; the error kinds
cross the socket as in the rest of the API (an unknown channel is ``invalid_job``, deleting a
channel a running user-initiated job uses is ``permission``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from uidt.daemon.httpd import Request, Response, Router, json_response
from uidt.daemon.notificationactions import ClickSource
from uidt.errors import InvalidJobError
from uidt.job.notification import Notification

if TYPE_CHECKING:
    from uidt.daemon.appnotifications import AppNotifications
    from uidt.daemon.runtime import Runtime

#: Reads a request's JSON body (the API's own reader, with its size and depth limits).
BodyReader = Callable[[Request], Awaitable[dict[str, Any]]]


def _manager(request: Request) -> AppNotifications:
    return cast("Runtime", request.context).notification_manager


def notification_id(value: Any) -> int:
    """A notification id: a 32-bit integer (as Android's ``int id``)."""
    number: int
    if isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            raise InvalidJobError(f"notification id must be an integer, not {value!r}") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise InvalidJobError(f"notification id must be an integer, not {value!r}")
    if not -(2**31) <= number < 2**31:
        raise InvalidJobError(f"notification id {number} does not fit in 32 bits")
    return number


def add_routes(router: Router, read_body: BodyReader) -> None:
    """Add the notification and channel routes; ``read_body`` is the API's body reader."""

    async def active(request: Request) -> Response:
        return json_response({"notifications": _manager(request).active(_app(request))})

    async def notify(request: Request) -> Response:
        body = await read_body(request)
        if not isinstance(body.get("notification"), dict):
            raise InvalidJobError("'notification' must be a JSON object (Notification.to_dict())")
        nid = notification_id(body.get("id"))
        notification = Notification.from_dict(body["notification"])
        _manager(request).notify(_app(request), nid, notification)
        return json_response({"ok": True})

    async def cancel(request: Request) -> Response:
        nid = notification_id(request.match_info["notification_id"])
        _manager(request).cancel(_app(request), nid)
        return json_response({"ok": True})

    async def channels(request: Request) -> Response:
        return json_response({"channels": _manager(request).channels(_app(request))})

    async def create_channel(request: Request) -> Response:
        body = await read_body(request)
        _manager(request).create_channel(_app(request), body.get("id"), body.get("name"))
        return json_response({"ok": True})

    async def delete_channel(request: Request) -> Response:
        _manager(request).delete_channel(_app(request), request.match_info["channel"])
        return json_response({"ok": True})

    async def listing(request: Request) -> Response:
        app = request.query.get("app") or None
        actions = cast("Runtime", request.context).notification_actions
        return json_response({"notifications": actions.listing(app)})

    async def click(request: Request) -> Response:
        nid = notification_id(request.match_info["notification_id"])
        await read_body(request)  # none is needed; a malformed one is still refused
        actions = cast("Runtime", request.context).notification_actions
        action = request.match_info["action"]
        clicked = actions.click(_app(request), nid, action, ClickSource.CLI)
        return json_response({"ok": True, **clicked})

    router.add("GET", "/v1/notifications", listing)
    router.add("POST", "/v1/apps/{app}/notifications/{notification_id}/actions/{action}", click)
    router.add("GET", "/v1/apps/{app}/notifications", active)
    router.add("POST", "/v1/apps/{app}/notifications", notify)
    router.add("DELETE", "/v1/apps/{app}/notifications/{notification_id}", cancel)
    router.add("GET", "/v1/apps/{app}/channels", channels)
    router.add("POST", "/v1/apps/{app}/channels", create_channel)
    router.add("DELETE", "/v1/apps/{app}/channels/{channel}", delete_channel)


def _app(request: Request) -> str:
    return request.match_info["app"]

"""The control API's routes for apps: install (``POST /v1/apps``, the manifest read on a thread
with a time limit), list, remove, grant or revoke a permission, and the user's stop of an app's
jobs (``POST /v1/apps/{app}/stop``, on every host of a fleet).

Each handler checks its input and hands on to ``runtime.apps`` (``runtime.fleet`` for the stop);
the error kinds cross the socket as in the rest of the API.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, cast

from uidt.daemon.apibody import read_body
from uidt.daemon.httpd import Request, Response, Router, json_response
from uidt.errors import ManifestError, ProtocolError
from uidt.packages.manifest import load_for_install

if TYPE_CHECKING:
    from uidt.daemon.runtime import Runtime

_json = json_response


def _rt(request: Request) -> Runtime:
    return cast("Runtime", request.context)


#: The longest reading and checking a manifest may take (a file on a hung network mount).
MANIFEST_READ_TIMEOUT_S = 10.0


async def install_app(request: Request) -> Response:
    """Read the manifest in a thread (the loop keeps serving), then install it."""
    body = await read_body(request)
    path = body.get("manifest_path")
    if not isinstance(path, str) or not os.path.isabs(path):
        raise ProtocolError("'manifest_path' (an absolute path to uidt.toml) is required")
    trust = body.get("trust", False)
    if not isinstance(trust, bool):
        raise ProtocolError("'trust' must be true or false")
    try:
        manifest = await asyncio.wait_for(
            asyncio.to_thread(load_for_install, path, trust=trust), MANIFEST_READ_TIMEOUT_S
        )
    except TimeoutError:
        raise ManifestError(
            f"{path}: not read within {MANIFEST_READ_TIMEOUT_S:g} s (a hung file system?)"
        ) from None
    return _json(_rt(request).apps.install(manifest))


async def list_apps(request: Request) -> Response:
    return _json({"apps": _rt(request).apps.describe()})


async def remove_app(request: Request) -> Response:
    _rt(request).apps.remove(request.match_info["app"])
    return _json({"ok": True})


async def permissions(request: Request) -> Response:
    body = await read_body(request)
    rt, app = _rt(request), request.match_info["app"]
    if isinstance(body.get("grant"), str):
        rt.apps.set_permission(app, body["grant"], granted=True)
    elif isinstance(body.get("revoke"), str):
        rt.apps.set_permission(app, body["revoke"], granted=False)
    else:
        raise ProtocolError("give either 'grant' or 'revoke' with a permission name")
    return _json({"ok": True})


async def user_stop(request: Request) -> Response:
    return _json(await _rt(request).fleet.stop_app(request.match_info["app"]))


def add_routes(r: Router) -> None:
    """Add the app routes to the control API's router."""
    r.add("GET", "/v1/apps", list_apps)
    r.add("POST", "/v1/apps", install_app)
    r.add("DELETE", "/v1/apps/{app}", remove_app)
    r.add("POST", "/v1/apps/{app}/permissions", permissions)
    r.add("POST", "/v1/apps/{app}/stop", user_stop)

"""The Task Manager web page: running user-initiated jobs per app with one Stop each, live.

``serve_web(runtime, host, port)`` serves it on loopback inside the daemon's loop;
``create_web_app(runtime, token)`` builds the Starlette app (tests use it directly).
"""

from __future__ import annotations

from uidt.web.app import create_web_app
from uidt.web.auth import WebAuth, new_token
from uidt.web.protocol import TaskManagerRuntime
from uidt.web.server import WebBindError, WebServer, serve_web

__all__ = [
    "TaskManagerRuntime",
    "WebAuth",
    "WebBindError",
    "WebServer",
    "create_web_app",
    "new_token",
    "serve_web",
]

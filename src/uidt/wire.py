"""How errors cross the control API: a JSON object naming the kind of error and its message.

The daemon turns a ``UidtError`` into ``{"error": {"type": ..., "message": ...}}`` with an HTTP status;
the client raises the same kind of exception again, so an app sees ``ValueError`` /
``PermissionError`` / ``RuntimeError`` exactly as Android's app sees IAE / SecurityException /
IllegalStateException.
"""

from __future__ import annotations

from typing import Any

from uidt import errors

_KINDS: dict[str, tuple[type[errors.UidtError], int]] = {
    "invalid_job": (errors.InvalidJobError, 400),
    "permission": (errors.JobPermissionError, 403),
    "limit": (errors.JobLimitError, 409),
    "manifest": (errors.ManifestError, 400),
    "settings": (errors.SettingsError, 400),
    "protocol": (errors.ProtocolError, 400),
    "store": (errors.StoreError, 500),
    "transfer": (errors.TransferError, 502),
    "daemon": (errors.DaemonError, 503),
}


def error_to_wire(exc: BaseException) -> tuple[dict[str, Any], int]:
    """The JSON body and HTTP status for an exception raised while serving a request."""
    for kind, (cls, status) in _KINDS.items():
        if isinstance(exc, cls):
            return {"error": {"type": kind, "message": str(exc)}}, status
    if isinstance(exc, errors.UidtError):
        return {"error": {"type": "uidt", "message": str(exc)}}, 400
    return {"error": {"type": "internal", "message": f"{type(exc).__name__}: {exc}"}}, 500


def error_from_wire(body: Any, status: int) -> errors.UidtError:
    """The exception a client raises for an error response."""
    message = f"daemon answered HTTP {status}"
    kind = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        kind = str(body["error"].get("type", ""))
        message = str(body["error"].get("message", message))
    if kind in _KINDS:
        return _KINDS[kind][0](message)
    if status == 404:
        return errors.InvalidJobError(message)
    return errors.DaemonError(message)

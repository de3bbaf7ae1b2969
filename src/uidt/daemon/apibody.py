"""A control API request's JSON body, read with its limits: at most :data:`MAX_BODY` bytes, one
JSON object, nested at most :data:`MAX_DEPTH` levels. Anything else is a
:class:`~uidt.errors.ProtocolError` (a 400 with a message).
"""

from __future__ import annotations

import json
from typing import Any

from uidt.daemon.httpd import Request
from uidt.errors import ProtocolError

MAX_BODY = 1 << 20
#: Deepest nesting of lists and objects a request body may have (the handlers and the store
#: walk bodies recursively; Python's JSON parser itself gives up near 1,000).
MAX_DEPTH = 32


async def read_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (``{}`` for no body).

    Raises:
        ProtocolError: too large, not JSON, not an object, or nested too deeply.
    """
    raw = request.body
    if not raw:
        return {}
    if len(raw) > MAX_BODY:
        raise ProtocolError("request body too large")
    try:
        data = json.loads(raw) if raw else {}
    except RecursionError:
        raise ProtocolError(f"request body nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise ProtocolError(f"request body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ProtocolError("request body must be a JSON object")
    if depth(data) > MAX_DEPTH:
        raise ProtocolError(f"request body nests deeper than {MAX_DEPTH} levels")
    return data


def depth(value: Any) -> int:
    """How deeply ``value``'s lists and objects nest (without recursion: it may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest

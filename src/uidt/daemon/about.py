"""What a running daemon says about itself (``GET /v1/status``, ``uidt daemon status``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class DaemonAbout:
    """Facts fixed when the daemon started, plus the options it was started with."""

    pid: int
    home: str
    socket: str
    #: The store's URL, without a password.
    store: str
    #: ``auto`` or ``fake``.
    device: str
    #: The ``web`` setting (``HOST:PORT``) it serves the page on, if any.
    web_address: str | None
    #: The page's base URL (the bound port, when the setting asked for port 0).
    web_url: str | None
    #: The command-line options it was started with (``store``, ``device``, ``web``, ``sets``):
    #: what ``uidt daemon restart`` repeats. ``None`` where the option was not given.
    options: dict[str, Any] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    started_monotonic: float = field(default_factory=time.monotonic)
    #: Where it serves Prometheus metrics (the ``metrics`` setting, the bound port), if it does.
    metrics_url: str | None = None

    def to_dict(self, *, running: int, waiting: int, settings: dict[str, Any]) -> dict[str, Any]:
        """The JSON of ``GET /v1/status`` (``running``/``waiting``: job counts right now)."""
        return {
            "pid": self.pid,
            "home": self.home,
            "socket": self.socket,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started_at)),
            "uptime_s": round(time.monotonic() - self.started_monotonic, 3),
            "store": self.store,
            "device": self.device,
            "web_address": self.web_address,
            "web_url": self.web_url,
            "metrics_url": self.metrics_url,
            "jobs": {"running": running, "waiting": waiting},
            "options": dict(self.options),
            "settings": settings,
        }


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (a store URL may carry one)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))

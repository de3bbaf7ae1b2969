"""``uidt daemon status`` as text: the host's labels show when it has any."""

from __future__ import annotations

from typing import Any

from uidt.cli.daemonctl import status_lines


def _status(**settings: Any) -> dict[str, Any]:
    return {
        "pid": 42,
        "home": "/h",
        "socket": "/h/daemon.sock",
        "uptime_s": 3.0,
        "started_at": "2026-12-01T00:00:00Z",
        "store": "postgresql://db/uidt",
        "device": "fake",
        "web_url": None,
        "jobs": {"running": 1, "waiting": 2},
        "settings": settings,
    }


def test_the_host_labels_show_when_set() -> None:
    lines = status_lines(_status(host_labels=["gpu-rack", "ssd"]))
    assert lines[-1] == "  labels:  gpu-rack,ssd (host_labels)"
    assert not any(line.startswith("  labels:") for line in status_lines(_status(host_labels=[])))

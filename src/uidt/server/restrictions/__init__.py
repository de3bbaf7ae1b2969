"""Device-wide vetoes: each answers "is this job restricted now" with one stop reason."""

from __future__ import annotations

from uidt.server.restrictions.memory import max_total_jobs, ui_reserved_slots
from uidt.server.restrictions.thermal import thermally_restricted

__all__ = ["max_total_jobs", "thermally_restricted", "ui_reserved_slots"]

"""Every tunable of uidt, with Android's default, and where values come from.

Times are milliseconds. Values come from three sources, later ones winning:
``config.toml`` < ``UIDT_<UPPER_NAME>`` environment variables < ``--set NAME=VALUE``.
Durations accept plain milliseconds or a unit suffix (``250ms``, ``10s``, ``5min``, ``6h``, ``1d``).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uidt.errors import SettingsError

_MINUTE = 60_000
#: The values of the ``log_format`` setting.
LOG_FORMATS = ("text", "json")
_HOUR = 60 * _MINUTE


@dataclass(frozen=True)
class Settings:
    """The scheduler's tunables (docs/android-semantics.md: the slot, runtime limits, backoff, concurrency, beyond Android)."""

    bind_timeout_ms: int = 18_000
    op_timeout_ms: int = 8_000
    notification_timeout_ms: int = 10_000
    runtime_min_guarantee_ms: int = 10 * _MINUTE
    runtime_min_ui_guarantee_ms: int = 6 * _HOUR
    runtime_min_ui_data_transfer_guarantee_ms: int = 6 * _HOUR
    runtime_min_ui_data_transfer_guarantee_buffer_factor: float = 1.35
    runtime_ui_limit_ms: int = 12 * _HOUR
    runtime_free_quota_max_limit_ms: int = 30 * _MINUTE
    runtime_cumulative_ui_limit_ms: int = 24 * _HOUR
    runtime_use_data_estimates_for_limits: bool = False
    uij_timeout_quota_count: int = 2
    uij_timeout_quota_window_ms: int = 24 * _HOUR
    visible_grace_ms: int = 10_000
    min_backoff_ms: int = 10_000
    max_backoff_ms: int = 5 * _HOUR
    system_stop_to_failure_ratio: int = 3
    concurrency_limit: int | None = None
    max_wait_ui_ms: int = 5 * _MINUTE
    stall_watchdog: bool = True
    stall_timeout_ms: int = 10 * _MINUTE
    #: A running job's cumulative runtime is stamped (and persisted) at least this often.
    execution_stamp_period_ms: int = 5 * _MINUTE
    max_jobs_per_app: int = 150
    #: ``uidt download URL… / -i FILE``: files scheduled at once when ``-j`` is not given.
    transfer_max_concurrent: int = 5
    worker_idle_timeout_ms: int = 60_000
    #: Boot the built-in transfer app's worker with the daemon, whether or not a job waits, so
    #: that the first ``uidt download`` needs no process start; unused, it exits after
    #: ``worker_idle_timeout_ms`` like any idle worker.
    warm_worker: bool = True
    cmd_run_connectivity_wait_ms: int = 5_000
    #: Where the daemon serves the Task Manager page (``HOST:PORT`` on loopback), or ``None``.
    #: A setting (not only ``uidt daemon --web``) so that every autostarted daemon serves it too.
    web: str | None = None
    #: A connection to the control socket or the Task Manager must send a request head (and
    #: then its body) within this; a keep-alive one may idle ``http_idle_timeout_ms``.
    http_header_timeout_ms: int = 10_000
    http_idle_timeout_ms: int = 5_000
    #: Most connections each surface holds (lowered to fit an eighth of RLIMIT_NOFILE).
    api_max_connections: int = 256
    web_max_connections: int = 128
    #: Where the daemon serves Prometheus metrics (``HOST:PORT`` on loopback), or ``None`` (off).
    #: Needs the ``prometheus_client`` package (``pip install 'uidt[metrics]'``).
    metrics: str | None = None
    #: How many days of device readings (changes only) the daemon keeps for job timelines.
    device_history_days: int = 7
    #: The most device readings kept, however often the device changes (the hard cap).
    device_history_max: int = 10_000
    #: The daemon's log lines: ``text`` (the default) or ``json`` (one object a line).
    log_format: str = "text"
    #: All of uidt's running transfers together stay under this: one rate (``2M``), or an
    #: rclone-style timetable (``"08:00,2M 19:00,off"``, ``"Mon-08:00,512K Sat-00:00,off"``);
    #: ``None`` / ``off``: no limit. See :mod:`uidt.timetable` and docs/transfers.md.
    bandwidth_limit: str | None = None
    #: This host's name in a shared store's leases (``--store postgresql://…``, docs/fleet.md);
    #: ``None``: host name, machine id and user (``uidt.store.hostid``).
    host_id: str | None = None
    #: How long a shared store's lease lasts without a heartbeat (renewed every third of it).
    lease_ms: int = 30_000
    #: What this host offers the jobs of a fleet (``gpu-rack,ssd``): a job that requires labels
    #: (``uidt download --on LABEL``) runs only on a host having all of them (docs/fleet.md).
    host_labels: tuple[str, ...] = ()

    @classmethod
    def names(cls) -> list[str]:
        """Every setting's name."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_sources(
        cls,
        file: Path | None = None,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> Settings:
        """Build settings from ``config.toml``, ``UIDT_*`` variables and ``--set`` overrides.

        Raises:
            SettingsError: a name is unknown or a value cannot be parsed (the message names it).
        """
        values: dict[str, Any] = {}
        if file is not None and file.exists():
            try:
                data = tomllib.loads(file.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise SettingsError(f"cannot read settings file {file}: {exc}") from exc
            for name, raw in _config_items(file, data).items():
                values[name] = _parse(name, raw)
        for name in cls.names():
            raw_env = (env or {}).get(f"UIDT_{name.upper()}")
            if raw_env is not None:
                values[name] = _parse(name, raw_env)
        for name, raw in (overrides or {}).items():
            values[name] = _parse(name, raw)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (for ``uidt dumpsys``)."""
        return dataclasses.asdict(self)


def _config_items(file: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The settings of a parsed ``config.toml``: its top-level keys and its ``[settings]`` table.

    Raises:
        SettingsError: ``settings`` is not a table, or a name is set in both places.
    """
    table = data.get("settings", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{file}: [settings] must be a table")
    items = {name: raw for name, raw in data.items() if name != "settings"}
    clash = sorted(items.keys() & table.keys())
    if clash:
        raise SettingsError(f"{file}: {clash[0]!r} is set both at the top level and in [settings]")
    return {**items, **table}


def check_web_address(text: str, what: str = "web") -> str | None:
    """The ``web`` setting: ``HOST:PORT`` with a loopback host, or ``None`` (empty, ``none``, ``off``).

    Raises:
        ValueError: not ``HOST:PORT``, or the host is not loopback (the message says which).
    """
    web = text.strip()
    if web.lower() in ("", "none", "off"):
        return None
    host, sep, port = web.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{what} takes HOST:PORT on loopback, e.g. 127.0.0.1:8765, not {text!r}")
    if host.lower() != "localhost":
        import ipaddress  # only when a page is asked for: not on the daemon's cold start

        try:
            loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(
                f"{'the Task Manager page' if what == 'web' else what} serves loopback only "
                "(127.0.0.1, [::1], localhost), "
                f"not {host}"
            )
    return web


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_UNITS = {
    "ms": 1,
    "s": 1000,
    "sec": 1000,
    "m": _MINUTE,
    "min": _MINUTE,
    "h": _HOUR,
    "d": 24 * _HOUR,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m|h|d)?\s*$")


def parse_duration_ms(text: str) -> int:
    """``"10s"`` → 10000; a plain number is milliseconds.

    Raises:
        ValueError: the text is not a duration.
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2) or "ms"])


def _parse(name: str, raw: Any) -> Any:
    field = _FIELDS.get(name)
    if field is None:
        raise SettingsError(f"unknown setting {name!r}")
    kind = str(field.type)
    if name in ("web", "metrics"):
        if raw is not None and not isinstance(raw, str):
            raise SettingsError(f"invalid value for setting {name!r}: {raw!r} (give a string)")
        try:
            return None if raw is None else check_web_address(raw, name)
        except ValueError as exc:
            raise SettingsError(f"invalid value for setting {name!r}: {exc}") from None
    if name == "bandwidth_limit":
        return _parse_bandwidth_limit(raw)
    if name == "host_id":
        if raw is not None and (not isinstance(raw, str) or not raw.strip()):
            raise SettingsError(f"invalid value for setting {name!r}: {raw!r} (give a name)")
        return None if raw is None else raw.strip()
    if name == "host_labels":
        from uidt.errors import InvalidJobError
        from uidt.job.hostlabels import parse_labels

        try:
            return parse_labels(raw)
        except InvalidJobError as exc:
            raise SettingsError(f"invalid value for setting {name!r}: {exc}") from None
    if name == "log_format":
        if raw not in LOG_FORMATS:
            raise SettingsError(
                f"invalid value for setting {name!r}: {raw!r} (give {' or '.join(LOG_FORMATS)})"
            )
        return raw
    try:
        if kind == "bool":
            return _parse_bool(raw)
        if kind == "float":
            if isinstance(raw, bool):
                raise ValueError(raw)
            return float(raw)
        if kind == "int | None":
            if raw is None or (
                isinstance(raw, str) and raw.strip().lower() in ("", "none", "auto")
            ):
                return None
            return _parse_int(name, raw)
        value = _parse_int(name, raw)
        if name == "lease_ms" and value < 1_000:
            raise ValueError(raw)  # shorter than a heartbeat's round trip on a busy database
        return value
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"invalid value for setting {name!r}: {raw!r}") from exc


def _parse_bandwidth_limit(raw: Any) -> str | None:
    """A rate or a timetable, checked now (a mistake stops the daemon's start, said clearly)."""
    from uidt.timetable import parse_bandwidth_limit  # only when the setting is given

    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise SettingsError(
            f"invalid value for setting 'bandwidth_limit': {raw!r} (give a string like 2M)"
        )
    schedule = parse_bandwidth_limit(str(raw))
    if not schedule.is_timetable and schedule.rate_at_any() is None:
        return None
    return schedule.text


def _parse_int(name: str, raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, int):
        value = raw
    elif name.endswith("_ms") and isinstance(raw, str):
        value = parse_duration_ms(raw)
    else:
        value = int(str(raw).strip())
    if value < 0:
        raise ValueError(raw)
    return value


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)

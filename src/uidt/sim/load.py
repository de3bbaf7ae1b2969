"""Read a scenario TOML into a :class:`~uidt.sim.scenario.Scenario`: every mistake is one
:class:`~uidt.errors.ScenarioError` naming its line (``tomllib`` keeps no line numbers for keys:
:mod:`uidt.sim.tomllines` finds them by re-scanning the text)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from uidt.device.state import MemoryPressure, ThermalStatus
from uidt.errors import InvalidJobError, ScenarioError
from uidt.sim.quantities import duration_ms, rate_bytes_per_s, size_bytes
from uidt.sim.scenario import (
    NETWORK_NEEDS,
    Behaviour,
    Constraint,
    Device,
    DeviceEvent,
    JobSpec,
    NetworkKind,
    Scenario,
    StopAnswer,
)
from uidt.sim.tomllines import Path as KeyPath
from uidt.sim.tomllines import key_lines, line_of

T = TypeVar("T")

_TOP = {"scenario", "device", "app", "job", "event"}
_SCENARIO = {"name", "description", "duration", "seed"}
_DEVICE = {
    "network",
    "metered",
    "roaming",
    "battery",
    "charging",
    "storage_low",
    "thermal",
    "memory",
    "power_saver",
}
_APP = {"name"}
_JOB = {
    "app",
    "id",
    "at",
    "user_initiated",
    "network",
    "constraints",
    "download",
    "upload",
    "behaviour",
}
_BEHAVIOUR = {"throughput", "on_stop", "resumes", "crash_after", "crash_probability"}
_EVENT = {"at", "user_stop", "cancel"} | _DEVICE
DEFAULT_DURATION_MS = 86_400_000


def load_scenario(path: Path) -> Scenario:
    """Read and check ``path``.

    Raises:
        ScenarioError: the file cannot be read, is not TOML, or breaks a rule (with its line).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the scenario: {exc}", source=str(path)) from exc
    return parse_scenario(text, source=str(path))


def parse_scenario(text: str, *, source: str = "") -> Scenario:
    """Parse a scenario from TOML text (``source`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}", source=source) from exc
    return _Reader(key_lines(text), source).scenario(data)


class _Reader:
    def __init__(self, lines: dict[KeyPath, int], source: str) -> None:
        self.lines = lines
        self.source = source

    def error(self, path: KeyPath, message: str) -> ScenarioError:
        return ScenarioError(message, line=line_of(self.lines, path), source=self.source)

    def table(self, data: object, path: KeyPath, allowed: set[str], what: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.error(path, f"{what} must be a table")
        for key in data:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error((*path, key), f"unknown key {key!r} in {what} (known: {known})")
        return data

    def value(
        self, table: Mapping[str, Any], path: KeyPath, key: str, parse: Callable[[Any], T]
    ) -> T:
        try:
            return parse(table[key])
        except (ValueError, TypeError) as exc:
            raise self.error((*path, key), f"{key}: {exc}") from None

    def scenario(self, data: dict[str, Any]) -> Scenario:
        self.table(data, (), _TOP, "the scenario file")
        head = self.table(data.get("scenario", {}), ("scenario",), _SCENARIO, "[scenario]")
        duration = DEFAULT_DURATION_MS
        if "duration" in head:
            duration = self.value(head, ("scenario",), "duration", duration_ms)
        seed = self.value(head, ("scenario",), "seed", _int) if "seed" in head else 0
        name = self.value(head, ("scenario",), "name", _str) if "name" in head else "scenario"
        description = (
            self.value(head, ("scenario",), "description", _str) if "description" in head else ""
        )
        device = self.device(data.get("device", {}), ("device",), Device(), "[device]")
        apps = self.apps(data.get("app", []))
        jobs = self.jobs(data.get("job", []), apps, duration)
        events = self.events(data.get("event", []), apps, jobs, device, duration)
        return Scenario(
            name=name,
            duration_ms=duration,
            device=device,
            apps=apps,
            jobs=jobs,
            events=events,
            description=description,
            seed=seed,
        )

    def device(self, data: object, path: KeyPath, base: Device, what: str) -> Device:
        table = self.table(data, path, _DEVICE, what)
        return Device(**{**vars(base), **self.device_changes(table, path)})

    def device_changes(self, table: Mapping[str, Any], path: KeyPath) -> dict[str, Any]:
        parsers: dict[str, Callable[[Any], Any]] = {
            "network": _enum(NetworkKind),
            "metered": _bool,
            "roaming": _bool,
            "battery": _percent,
            "charging": _bool,
            "storage_low": _bool,
            "thermal": _level(ThermalStatus),
            "memory": _level(MemoryPressure),
            "power_saver": _bool,
        }
        return {k: self.value(table, path, k, parsers[k]) for k in table if k in parsers}

    def apps(self, data: object) -> tuple[str, ...]:
        if not isinstance(data, list):
            raise self.error(("app",), "app must be written [[app]] (a list of apps)")
        names: list[str] = []
        for i, entry in enumerate(data):
            path: KeyPath = ("app", i)
            table = self.table(entry, path, _APP, "[[app]]")
            if "name" not in table:
                raise self.error(path, "[[app]] needs a name")
            name = self.value(table, path, "name", _str)
            if name in names:
                raise self.error((*path, "name"), f"app {name!r} is listed twice")
            names.append(name)
        return tuple(names)

    def jobs(self, data: object, apps: tuple[str, ...], duration: int) -> tuple[JobSpec, ...]:
        if not isinstance(data, list):
            raise self.error(("job",), "job must be written [[job]] (a list of jobs)")
        jobs: list[JobSpec] = []
        seen: set[tuple[str, int]] = set()
        for i, entry in enumerate(data):
            path: KeyPath = ("job", i)
            table = self.table(entry, path, _JOB, "[[job]]")
            for needed in ("app", "id"):
                if needed not in table:
                    raise self.error(path, f"[[job]] needs {needed!r}")
            app = self.value(table, path, "app", _str)
            if app not in apps:
                raise self.error((*path, "app"), f"unknown app {app!r} (listed: {_list(apps)})")
            job_id = self.value(table, path, "id", _int)
            if (app, job_id) in seen:
                raise self.error((*path, "id"), f"job {app}/{job_id} is listed twice")
            seen.add((app, job_id))
            at = self.value(table, path, "at", duration_ms) if "at" in table else 0
            if at > duration:
                raise self.error((*path, "at"), "the job is scheduled after the scenario ends")
            spec = JobSpec(
                app=app,
                job_id=job_id,
                at_ms=at,
                user_initiated=self.optional(table, path, "user_initiated", _bool, True),
                network=self.optional(table, path, "network", _network_need, NETWORK_NEEDS["any"]),
                constraints=self.constraints(table, path),
                download_bytes=self.optional(table, path, "download", size_bytes, 0),
                upload_bytes=self.optional(table, path, "upload", size_bytes, 0),
                behaviour=self.behaviour(table.get("behaviour", {}), (*path, "behaviour")),
                line=line_of(self.lines, path),
            )
            try:
                spec.job_info()
            except InvalidJobError as exc:
                raise self.error(path, f"job {spec.name} is not valid: {exc}") from None
            jobs.append(spec)
        return tuple(jobs)

    def optional(
        self,
        table: Mapping[str, Any],
        path: KeyPath,
        key: str,
        parse: Callable[[Any], T],
        default: T,
    ) -> T:
        return self.value(table, path, key, parse) if key in table else default

    def constraints(self, table: Mapping[str, Any], path: KeyPath) -> frozenset[Constraint]:
        raw = table.get("constraints", [])
        if not isinstance(raw, list):
            raise self.error((*path, "constraints"), "constraints must be a list of names")
        known = {c.value for c in Constraint}
        found = set()
        for name in raw:
            if name not in known:
                raise self.error(
                    (*path, "constraints"),
                    f"unknown constraint {name!r} (known: {_list(sorted(known))}; "
                    "the network is set with network = ...)",
                )
            found.add(Constraint(name))
        return frozenset(found)

    def behaviour(self, data: object, path: KeyPath) -> Behaviour:
        table = self.table(data, path, _BEHAVIOUR, "[job.behaviour]")
        base = Behaviour()
        return Behaviour(
            throughput=self.optional(table, path, "throughput", rate_bytes_per_s, base.throughput),
            on_stop=self.optional(table, path, "on_stop", _enum(StopAnswer), base.on_stop),
            resumes=self.optional(table, path, "resumes", _bool, base.resumes),
            crash_after_ms=self.optional(table, path, "crash_after", duration_ms, None),
            crash_probability=self.optional(table, path, "crash_probability", _probability, 0.0),
        )

    def events(
        self,
        data: object,
        apps: tuple[str, ...],
        jobs: tuple[JobSpec, ...],
        device: Device,
        duration: int,
    ) -> tuple[DeviceEvent, ...]:
        if not isinstance(data, list):
            raise self.error(("event",), "event must be written [[event]] (a list of events)")
        events: list[DeviceEvent] = []
        names = {job.name for job in jobs}
        last = 0
        for i, entry in enumerate(data):
            path: KeyPath = ("event", i)
            table = self.table(entry, path, _EVENT, "[[event]]")
            if "at" not in table:
                raise self.error(path, "[[event]] needs 'at' (when it happens)")
            at = self.value(table, path, "at", duration_ms)
            if at < last:
                raise self.error(
                    (*path, "at"),
                    "time goes backwards: this event is earlier than the one before it "
                    "(list events in time order)",
                )
            if at > duration:
                raise self.error((*path, "at"), "the event happens after the scenario ends")
            last = at
            user_stop = self.optional(table, path, "user_stop", _str, None)
            if user_stop is not None and user_stop not in apps:
                raise self.error(
                    (*path, "user_stop"), f"unknown app {user_stop!r} (listed: {_list(apps)})"
                )
            cancel = self.optional(table, path, "cancel", _str, None)
            if cancel is not None and cancel not in names:
                raise self.error(
                    (*path, "cancel"), f"unknown job {cancel!r} (jobs: {_list(sorted(names))})"
                )
            changes = self.device_changes(table, path)
            if not changes and user_stop is None and cancel is None:
                raise self.error(path, "the event changes nothing")
            events.append(
                DeviceEvent(
                    at_ms=at,
                    changes=changes,
                    user_stop=user_stop,
                    cancel=cancel,
                    line=line_of(self.lines, path),
                )
            )
        return tuple(events)


def _list(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(names) if names else "none"


def _str(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _percent(value: object) -> int:
    level = _int(value)
    if not 0 <= level <= 100:
        raise ValueError(f"expected a level from 0 to 100, got {level}")
    return level


def _probability(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"expected a probability from 0 to 1, got {value!r}")
    return float(value)


def _network_need(value: object) -> Any:
    if value not in NETWORK_NEEDS:
        raise ValueError(f"expected one of {_list(list(NETWORK_NEEDS))}, got {value!r}")
    return NETWORK_NEEDS[str(value)]


def _enum(kind: type[Any]) -> Callable[[object], Any]:
    def parse(value: object) -> Any:
        names = [member.value for member in kind]
        if value not in names:
            raise ValueError(f"expected one of {_list(names)}, got {value!r}")
        return kind(value)

    return parse


def _level(kind: type[Any]) -> Callable[[object], Any]:
    def parse(value: object) -> Any:
        names = [member.name.lower() for member in kind]
        if value not in names:
            raise ValueError(f"expected one of {_list(names)}, got {value!r}")
        return kind[str(value).upper()]

    return parse

"""``uidt cmd …``: Android's ``cmd jobscheduler`` verbs, parsed as Android parses them (docs/android-semantics.md#shell-verbs).

Options come before the positional arguments; an unknown option prints ``Error: unknown option 'X'``
with result -1. The result code travels to the CLI, which turns -1000/-1001/-1002 into exit
statuses 3/4/5, other errors into 1 and usage errors into 2. ``cmd device set|reset|show`` is
uidt's addition: it overrides device readings for testing; so is ``cmd bandwidth-limit``, which
shows or changes the global limit of the running transfers (:mod:`uidt.daemon.bandwidth_limit`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from uidt.errors import SettingsError, UidtError
from uidt.server import commands

if TYPE_CHECKING:
    from uidt.daemon.runtime import Runtime

USAGE = """\
Job scheduler (jobscheduler) commands:
  run [-f | --force] [-s | --satisfied] [-u | --user USER_ID] [-n | --namespace NAMESPACE] PACKAGE JOB_ID
  timeout [-u | --user USER_ID] [-n | --namespace NAMESPACE] [PACKAGE] [JOB_ID]
  stop [-u | --user USER_ID] [-n | --namespace NAMESPACE] [-s | --stop-reason STOP_REASON]
       [-i | --internal-stop-reason STOP_REASON] [PACKAGE] [JOB_ID]
  cancel [-u | --user USER_ID] [-n | --namespace NAMESPACE] PACKAGE [JOB_ID]
  get-job-state [-u | --user USER_ID] [-n | --namespace NAMESPACE] PACKAGE JOB_ID
  get-estimated-download-bytes | get-estimated-upload-bytes [-u USER_ID] [-n NAMESPACE] PACKAGE JOB_ID
  get-transferred-download-bytes | get-transferred-upload-bytes [-u USER_ID] [-n NAMESPACE] PACKAGE JOB_ID
  get-battery-seq | get-battery-charging | get-battery-not-low | get-storage-seq | get-storage-not-low
  monitor-battery on|off
  device set KEY=VALUE... | device reset | device show      (uidt: override device readings)
  bandwidth-limit [RATE | off | TIMETABLE | reset]          (uidt: the global transfer limit)
"""

#: Each verb's options: spelling -> (name, takes a value).
OptionSpec = dict[str, tuple[str, bool]]
_USER_NS: OptionSpec = {
    "-u": ("user", True),
    "--user": ("user", True),
    "-n": ("namespace", True),
    "--namespace": ("namespace", True),
}
_RUN: OptionSpec = {
    **_USER_NS,
    "-f": ("force", False),
    "--force": ("force", False),
    "-s": ("satisfied", False),
    "--satisfied": ("satisfied", False),
}
_STOP: OptionSpec = {
    **_USER_NS,
    "-s": ("stop_reason", True),
    "--stop-reason": ("stop_reason", True),
    "-i": ("internal_reason", True),
    "--internal-stop-reason": ("internal_reason", True),
}


class UsageError(UidtError):
    """The command line is malformed."""


@dataclass
class Parsed:
    options: dict[str, Any] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    code: int = 0
    stdout: str = ""
    stderr: str = ""
    usage_error: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "usage_error": self.usage_error,
        }


class UnknownOption(Exception):
    def __init__(self, option: str) -> None:
        super().__init__(option)
        self.option = option


def parse(args: list[str], spec: OptionSpec) -> Parsed:
    """Android's ``getNextOption`` loop: options first, then positionals."""
    parsed = Parsed()
    index = 0
    while index < len(args) and args[index].startswith("-") and args[index] != "-":
        option = args[index]
        index += 1
        if option not in spec:
            raise UnknownOption(option)
        name, takes_value = spec[option]
        if not takes_value:
            parsed.options[name] = True
            continue
        if index >= len(args):
            raise UsageError(f'Argument expected after "{option}"')
        parsed.options[name] = args[index]
        index += 1
    parsed.args = args[index:]
    return parsed


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{what} must be an integer, not {text!r}") from None


def _user(parsed: Parsed, *, concrete: bool = False) -> None:
    user = parsed.options.get("user", "0" if concrete else "all")
    if user in ("current", "cur", "0"):
        return
    if user == "all" or user == "-1":
        if concrete:
            raise _Fail(-1, "Error: must specify a concrete user ID")
        return
    value = _int(user, "USER_ID")
    if value != 0:
        raise _Fail(
            commands.CMD_ERR_NO_PACKAGE, f"Package not found: (user {value} does not exist)"
        )


class _Fail(Exception):
    def __init__(self, code: int, stderr: str) -> None:
        super().__init__(stderr)
        self.code = code
        self.stderr = stderr


def _pkg_job(parsed: Parsed, *, job_required: bool = True) -> tuple[str, int | None]:
    if not parsed.args:
        raise UsageError("Argument expected: PACKAGE")
    pkg = parsed.args[0]
    if len(parsed.args) < 2:
        if job_required:
            raise UsageError("Argument expected: JOB_ID")
        return pkg, None
    return pkg, _int(parsed.args[1], "JOB_ID")


def _from(result: commands.CmdResult) -> Outcome:
    return Outcome(result.code, result.output, result.error)


async def run_shell_command(runtime: Runtime, args: list[str]) -> dict[str, Any]:
    """Run one ``cmd`` command line; the answer is ``Outcome.to_dict()``."""
    try:
        outcome = await _dispatch(runtime, args)
    except UnknownOption as exc:
        outcome = Outcome(-1, stderr=f"Error: unknown option '{exc.option}'")
    except _Fail as exc:
        outcome = Outcome(exc.code, stderr=exc.stderr)
    except UsageError as exc:
        outcome = Outcome(-1, stderr=f"{exc}\n\n{USAGE}", usage_error=True)
    except UidtError as exc:
        outcome = Outcome(-1, stderr=f"Exception: {exc}")
    runtime.flush()
    return outcome.to_dict()


async def _dispatch(runtime: Runtime, args: list[str]) -> Outcome:
    if not args or args[0] in ("-h", "--help", "help"):
        return Outcome(0, USAGE)
    verb, rest = args[0], args[1:]
    handler = _VERBS.get(verb)
    if handler is None:
        if verb == "device":
            return _device(runtime, rest)
        raise UsageError(f"Unknown command: {verb}")
    outcome: Outcome = await handler(runtime, rest)
    return outcome


async def _run(runtime: Runtime, rest: list[str]) -> Outcome:
    parsed = parse(rest, _RUN)
    _user(parsed, concrete=True)
    pkg, job_id = _pkg_job(parsed)
    assert job_id is not None
    result = runtime.service.commands.run(
        pkg,
        parsed.options.get("namespace"),
        job_id,
        force=bool(parsed.options.get("force")),
        satisfied=bool(parsed.options.get("satisfied")),
    )
    if result.token is None:
        return _from(result)
    future = runtime.register_command(result.token)
    runtime.flush()
    code, output, error = await future
    return Outcome(code, output, error)


async def _stop(runtime: Runtime, rest: list[str]) -> Outcome:
    parsed = parse(rest, _STOP)
    _user(parsed)
    pkg = parsed.args[0] if parsed.args else None
    job_id = _int(parsed.args[1], "JOB_ID") if len(parsed.args) > 1 else None
    reason = _int(parsed.options.get("stop_reason", "13"), "STOP_REASON")
    internal = _int(parsed.options.get("internal_reason", "-1"), "STOP_REASON")
    try:
        result = runtime.service.commands.stop(
            pkg,
            parsed.options.get("namespace"),
            job_id,
            stop_reason=reason,
            internal_reason=internal,
        )
    except ValueError as exc:
        raise _Fail(-1, f"Exception: java.lang.IllegalArgumentException: {exc}") from exc
    return _from(result)


async def _timeout(runtime: Runtime, rest: list[str]) -> Outcome:
    parsed = parse(rest, _USER_NS)
    _user(parsed)
    pkg = parsed.args[0] if parsed.args else None
    job_id = _int(parsed.args[1], "JOB_ID") if len(parsed.args) > 1 else None
    return _from(runtime.service.commands.timeout(pkg, parsed.options.get("namespace"), job_id))


async def _cancel(runtime: Runtime, rest: list[str]) -> Outcome:
    parsed = parse(rest, _USER_NS)
    _user(parsed, concrete=True)
    pkg, job_id = _pkg_job(parsed, job_required=False)
    return _from(runtime.service.commands.cancel(pkg, parsed.options.get("namespace"), job_id))


async def _job_state(runtime: Runtime, rest: list[str]) -> Outcome:
    parsed = parse(rest, _USER_NS)
    _user(parsed, concrete=True)
    pkg, job_id = _pkg_job(parsed)
    assert job_id is not None
    return _from(
        runtime.service.commands.get_job_state(pkg, parsed.options.get("namespace"), job_id)
    )


def _bytes(kind: str) -> Callable[[Runtime, list[str]], Any]:
    async def handler(runtime: Runtime, rest: list[str]) -> Outcome:
        parsed = parse(rest, _USER_NS)
        _user(parsed, concrete=True)
        pkg, job_id = _pkg_job(parsed)
        assert job_id is not None
        verbs = runtime.service.commands
        result = verbs.get_bytes(kind, pkg, parsed.options.get("namespace"), job_id)
        return _from(result)

    return handler


def _device_value(name: str) -> Callable[[Runtime, list[str]], Any]:
    """``get-battery-charging`` … from the core's verbs; the ``-seq`` counters from the runtime."""

    async def handler(runtime: Runtime, rest: list[str]) -> Outcome:
        if rest:
            raise UnknownOption(rest[0])
        if name.endswith("-seq"):
            return Outcome(0, str(runtime.device_seq))
        verb = getattr(runtime.service.commands, f"get_{name.replace('-', '_')}")
        result: commands.CmdResult = verb()
        return _from(result)

    return handler


async def _monitor_battery(runtime: Runtime, rest: list[str]) -> Outcome:
    if len(rest) != 1 or rest[0] not in ("on", "off"):
        return Outcome(1, stderr=f"Error: unknown option {rest[0] if rest else ''}".rstrip())
    return Outcome(0, f"Battery monitoring {'enabled' if rest[0] == 'on' else 'disabled'}")


async def _heartbeat(runtime: Runtime, rest: list[str]) -> Outcome:
    return Outcome(-1, stderr="Heartbeat command is no longer supported")


def _device(runtime: Runtime, rest: list[str]) -> Outcome:
    device = runtime.device
    sub = rest[0] if rest else "show"
    if sub == "set":
        pairs: dict[str, str] = {}
        for item in rest[1:]:
            key, sep, value = item.partition("=")
            if not sep:
                raise UsageError(f"device set takes KEY=VALUE, not {item!r}")
            pairs[key.strip()] = value.strip()
        if not pairs:
            raise UsageError("device set takes at least one KEY=VALUE")
        device.set(**pairs)  # type: ignore[attr-defined]
    elif sub == "reset":
        device.reset()  # type: ignore[attr-defined]
    elif sub != "show":
        raise UsageError(f"Unknown device command: {sub}")
    lines = [f"{key}={value}" for key, value in device.describe().items()]
    return Outcome(0, "\n".join(lines))


async def _bandwidth_limit(runtime: Runtime, rest: list[str]) -> Outcome:
    """Show the limit; ``RATE``/``off``/a timetable changes it, ``reset``: back to the setting."""
    limiter = runtime.bandwidth_limit
    try:
        if rest == ["reset"]:
            limiter.reset()
        elif rest:
            limiter.change(" ".join(rest))
    except SettingsError as exc:
        return Outcome(-1, stderr=f"Error: {exc}")
    return Outcome(0, limiter.describe())


_VERBS: dict[str, Callable[[Runtime, list[str]], Any]] = {
    "run": _run,
    "stop": _stop,
    "timeout": _timeout,
    "cancel": _cancel,
    "get-job-state": _job_state,
    "get-estimated-download-bytes": _bytes("estimated-download"),
    "get-estimated-upload-bytes": _bytes("estimated-upload"),
    "get-transferred-download-bytes": _bytes("transferred-download"),
    "get-transferred-upload-bytes": _bytes("transferred-upload"),
    "get-battery-charging": _device_value("battery-charging"),
    "get-battery-not-low": _device_value("battery-not-low"),
    "get-storage-not-low": _device_value("storage-not-low"),
    "get-battery-seq": _device_value("battery-seq"),
    "get-storage-seq": _device_value("storage-seq"),
    "monitor-battery": _monitor_battery,
    "heartbeat": _heartbeat,
    "bandwidth-limit": _bandwidth_limit,
}

"""The cheap check of a transfer command's arguments, before the early daemon start.

:mod:`uidt.cli.launch` starts the daemon a ``uidt download`` / ``uidt upload`` needs before the
command line is even loaded. A command the command line will refuse (a refused header, an
unreadable CA file, a bad ``--sha256``...) must not start a daemon, so the launcher first reads
the command's arguments here, without click, and checks them with the same functions the
command uses (:meth:`uidt.cli.requestargs.RequestArgs.build`, :func:`uidt.cli.output.output_path`).
A CA file (``--cacert``, ``$SSL_CERT_FILE``) is only read here, not loaded into an SSL context
(that costs tens of milliseconds for a system bundle, on the path to the first byte): it must be
a readable file holding a PEM certificate; the command line loads it fully. Anything this
simple reader does not know (an unknown option, a missing value, ``--``) counts as
refused here: the launcher then leaves the start to the command line, which validates every
argument before it connects.

The option table must follow the commands' options (``uidt.cli.transfer``,
``uidt.cli.requestopts``); ``tests/cli/test_precheck.py`` compares the two.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from uidt.cli.cafile import cafile_looks_usable

#: Options of both commands that take a value, by every spelling.
VALUE_OPTIONS: dict[str, str] = {
    "--network": "network",
    "-H": "header",
    "--header": "header",
    "--header-env": "header_env",
    "-A": "user_agent",
    "--user-agent": "user_agent",
    "-u": "user",
    "--user": "user",
    "--netrc-file": "netrc_file",
    "--cacert": "cacert",
    "-x": "proxy",
    "--proxy": "proxy",
    "--noproxy": "noproxy",
    "--limit-rate": "limit_rate",
    "--on": "host_labels",
}
#: Flags of both commands.
FLAGS: dict[str, str] = {
    "--requires-charging": "requires_charging",
    "--requires-battery-not-low": "requires_battery_not_low",
    "--requires-storage-not-low": "requires_storage_not_low",
    "--no-persist": "no_persist",
    "--wait": "wait",
    "--foreground": "foreground",
    "--netrc": "netrc",
    "--netrc-optional": "netrc_optional",
    "--location-trusted": "location_trusted",
    "-k": "insecure",
    "--insecure": "insecure",
}
#: Each command's own options.
OWN_VALUE_OPTIONS: dict[str, dict[str, str]] = {
    "download": {
        "-o": "output",
        "--output": "output",
        "--sha256": "sha256",
        "--lowest-speed": "lowest_speed",
        "--lowest-speed-seconds": "lowest_speed_seconds",
        "-i": "input_file",
        "--input-file": "input_file",
        "-j": "max_concurrent",
        "--max-concurrent": "max_concurrent",
        "--mirror": "mirror",
        "-s": "split",
        "--split": "split",
        "--min-split-size": "min_split_size",
    },
    "upload": {"--method": "method"},
}
OWN_FLAGS: dict[str, dict[str, str]] = {
    "download": {"--allow-insecure-redirect": "allow_insecure_redirect"},
    "upload": {"--tus": "tus"},
}
#: ``uidt.transfers.jobs.NETWORK_CHOICES`` (that module loads the job classes).
NETWORKS = frozenset({"any", "unmetered", "not-roaming", "cellular"})
_MULTIPLE = frozenset({"header", "header_env", "mirror", "host_labels"})
_REQUEST = frozenset(
    {
        "header",
        "header_env",
        "user_agent",
        "user",
        "netrc",
        "netrc_optional",
        "netrc_file",
        "location_trusted",
        "cacert",
        "insecure",
        "proxy",
        "noproxy",
    }
)


class _Unsure(Exception):
    """The arguments cannot be read or checked this simply."""


def acceptable(command: str, args: Sequence[str], environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``uidt COMMAND ARGS`` passes the checks the command line makes before it connects.

    ``False`` for a refused command and for anything this reader is not sure of.
    """
    env = os.environ if environ is None else environ
    try:
        positionals, values = _parse(command, args)
        _check(command, positionals, values, env)
    except Exception:  # refused (InvalidJobError, a bad number) or unsure: the CLI decides
        return False
    return True


def _parse(command: str, args: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    value_options = {**VALUE_OPTIONS, **OWN_VALUE_OPTIONS.get(command, {})}
    flags = {**FLAGS, **OWN_FLAGS.get(command, {})}
    positionals: list[str] = []
    values: dict[str, list[str]] = {}
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if not arg.startswith("-") or arg == "-":
            positionals.append(arg)
            continue
        name, equals, inline = arg.partition("=")
        if name in flags and not equals:
            values.setdefault(flags[name], []).append("")
        elif name in value_options and name.startswith("--") and equals:
            values.setdefault(value_options[name], []).append(inline)
        elif arg in value_options and rest:
            values.setdefault(value_options[arg], []).append(rest.pop(0))
        else:  # unknown, "--", "-Hvalue", a missing value: the command line decides
            raise _Unsure(arg)
    for key, given in values.items():
        if len(given) > 1 and key not in _MULTIPLE:
            raise _Unsure(key)  # click keeps the last one; not worth imitating
    wanted = 1 if command == "download" else 2
    if len(positionals) != wanted:
        raise _Unsure("arguments")
    return positionals, values


def _check(
    command: str, positionals: list[str], values: dict[str, list[str]], env: Mapping[str, str]
) -> None:
    url = positionals[-1]
    if urlsplit(url).scheme not in ("http", "https"):
        raise _Unsure("url")
    if command == "upload" and not os.path.isfile(positionals[0]):
        raise _Unsure("file")

    def one(key: str) -> str | None:
        given = values.get(key)
        return given[-1] if given else None

    if "input_file" in values:
        raise _Unsure("--input-file")  # a batch: the command line reads and checks the file
    for mirror in values.get("mirror", ()):
        if urlsplit(mirror).scheme not in ("http", "https"):
            raise _Unsure("--mirror")
    max_concurrent = one("max_concurrent")
    if max_concurrent is not None and int(max_concurrent) < 1:
        raise _Unsure("--max-concurrent")
    if values.get("host_labels"):
        from uidt.job.hostlabels import check_label

        if "foreground" in values:
            raise _Unsure("--on with --foreground")
        for label in values["host_labels"]:
            check_label(label)  # InvalidJobError: the command line says it
    network = one("network")
    if network is not None and network not in NETWORKS:
        raise _Unsure("--network")
    method = one("method")
    if method is not None and method not in ("PUT", "POST"):
        raise _Unsure("--method")
    sha256 = one("sha256")
    if sha256 is not None and (
        len(sha256) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha256)
    ):
        raise _Unsure("--sha256")
    lowest_speed = one("lowest_speed")
    if lowest_speed is not None and int(lowest_speed) < 0:
        raise _Unsure("--lowest-speed")
    seconds = one("lowest_speed_seconds")
    if seconds is not None and not float(seconds) > 0:
        raise _Unsure("--lowest-speed-seconds")
    split = one("split")
    if split is not None and split.strip().lower() != "auto" and not 1 <= int(split) <= 16:
        raise _Unsure("--split")
    if one("min_split_size") is not None:
        raise _Unsure("--min-split-size")  # a size with its range: the command line checks it
    limit_rate = one("limit_rate")
    if limit_rate is not None:
        from uidt.rates import parse_rate

        parse_rate(limit_rate)  # a bad form raises SettingsError: the command line says it
    if command == "download":
        from uidt.cli.output import output_path

        output_path(url, one("output"))
    if _REQUEST.intersection(values):
        _check_request(url, values, env)
    elif env.get("SSL_CERT_FILE"):
        cafile_looks_usable(env["SSL_CERT_FILE"])


def _check_request(url: str, values: dict[str, list[str]], env: Mapping[str, str]) -> None:
    from uidt.cli.requestargs import RequestArgs

    def ask_password(user: str) -> str:
        raise _Unsure("a password to ask for")  # the command line asks, then starts the daemon

    def one(key: str) -> str | None:
        given = values.get(key)
        return given[-1] if given else None

    RequestArgs(
        header=tuple(values.get("header", ())),
        header_env=tuple(values.get("header_env", ())),
        user_agent=one("user_agent"),
        user=one("user"),
        netrc="netrc" in values,
        netrc_optional="netrc_optional" in values,
        netrc_file=one("netrc_file"),
        location_trusted="location_trusted" in values,
        cacert=one("cacert"),
        insecure="insecure" in values,
        proxy=one("proxy"),
        noproxy=one("noproxy"),
    ).build(url, environ=env, ask_password=ask_password, check_cafile=cafile_looks_usable)

"""The request options as typed (:class:`RequestArgs`) and their checks, without click.

A module of its own so that the early daemon start (:mod:`uidt.cli.launch`) can check a
transfer command's request options, with the same code as the command line, before it starts
a daemon for it; :mod:`uidt.cli.requestopts` adds the options to the commands.
:meth:`RequestArgs.build` reads the environment, the netrc file and the CA file now, at submit
time: the worker runs in the daemon's environment, and a mistake is best told to the user who
typed it. Each mistake is one line (:class:`~uidt.errors.InvalidJobError`), and no secret value
is ever part of it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from uidt.errors import InvalidJobError
from uidt.transfers.credentials import basic_authorization, default_netrc, netrc_login
from uidt.transfers.proxy import ProxySettings
from uidt.transfers.request import RequestOptions, check_field, parse_header


@dataclass(frozen=True)
class RequestArgs:
    """The request options as typed."""

    header: tuple[str, ...] = ()
    header_env: tuple[str, ...] = ()
    user_agent: str | None = None
    user: str | None = None
    netrc: bool = False
    netrc_optional: bool = False
    netrc_file: str | None = None
    location_trusted: bool = False
    cacert: str | None = None
    insecure: bool = False
    proxy: str | None = None
    noproxy: str | None = None

    def build(
        self,
        url: str,
        *,
        environ: Mapping[str, str] | None = None,
        ask_password: Callable[[str], str] | None = None,
        check_cafile: Callable[[str], object] | None = None,
    ) -> RequestOptions:
        """The job's request options for ``url``.

        Args:
            url: The transfer's URL (its host picks the netrc entry).
            environ: The environment (``--header-env``, ``SSL_CERT_FILE``, the proxy
                variables of :mod:`uidt.transfers.proxy`; default: this process's).
            ask_password: Asks for ``--user USER``'s password (default: a prompt without
                echo when stdin is a terminal, else an error).
            check_cafile: Checks the CA file (default: for an ``https://`` URL loads it,
                :func:`uidt.transfers.tls.load_cafile`; else only reads it,
                :func:`uidt.cli.cafile.cafile_looks_usable`).

        Raises:
            InvalidJobError: A malformed or refused header, a missing variable, an unusable
                netrc or CA file, a password that cannot be asked for.
        """
        env = os.environ if environ is None else environ
        headers: list[tuple[str, str]] = [parse_header(text) for text in self.header]
        secret: set[str] = set()
        for spec in self.header_env:
            name, value = _from_env(spec, env)
            headers.append((name, value))
            secret.add(name.lower())
        if self.user_agent is not None:
            check_field("User-Agent", self.user_agent, what="--user-agent")
            headers.append(("User-Agent", self.user_agent))
        authorization = self._authorization(url, ask_password)
        if authorization is not None:
            if any(n.lower() == "authorization" for n, _ in headers):
                raise InvalidJobError(
                    "an Authorization header and --user/--netrc credentials are both given; "
                    "keep one"
                )
            headers.append(("Authorization", authorization))
        return RequestOptions(
            headers=tuple(headers),
            secret=frozenset(secret),
            location_trusted=self.location_trusted,
            cacert=self._cacert(env, check_cafile, tls=urlsplit(url).scheme == "https"),
            insecure=self.insecure,
            proxy=ProxySettings.from_environ(env, proxy=self.proxy, noproxy=self.noproxy),
        )

    def _authorization(self, url: str, ask_password: Callable[[str], str] | None) -> str | None:
        if self.user is not None:
            user, colon, password = self.user.partition(":")
            if not user:
                raise InvalidJobError("--user needs a user name: --user USER[:PASSWORD]")
            if not colon:
                password = (ask_password or _prompt)(user)
            return basic_authorization(user, password)
        if not (self.netrc or self.netrc_optional or self.netrc_file):
            return None
        if sum((self.netrc, self.netrc_optional, self.netrc_file is not None)) > 1:
            raise InvalidJobError("give only one of --netrc, --netrc-optional, --netrc-file")
        parts = urlsplit(url)
        if self.netrc_optional and parts.username is not None:
            return None  # the URL's own user:password comes first (curl's --netrc-optional)
        path = Path(self.netrc_file).absolute() if self.netrc_file else default_netrc()
        found = netrc_login(path, parts.hostname or "", required=not self.netrc_optional)
        if found is None:
            return None
        login, password = found
        if parts.username is not None and unquote(parts.username) != login:
            return None  # the netrc entry is another account than the URL's
        return basic_authorization(login, password)

    def _cacert(
        self, env: Mapping[str, str], check: Callable[[str], object] | None, *, tls: bool
    ) -> str | None:
        if self.insecure and self.cacert:
            raise InvalidJobError("--insecure and --cacert contradict each other; give one")
        if self.cacert:
            path, where = self.cacert, "--cacert"
        elif env.get("SSL_CERT_FILE") and not self.insecure:
            path, where = env["SSL_CERT_FILE"], "SSL_CERT_FILE"
        else:
            return None
        absolute = str(Path(path).absolute())
        if check is None and not tls:
            from uidt.cli.cafile import cafile_looks_usable  # no TLS yet: no SSL context

            check = cafile_looks_usable
        elif check is None:
            from uidt.transfers.tls import load_cafile  # loads ssl: only when a CA file is given

            check = load_cafile
        try:
            check(absolute)
        except InvalidJobError as exc:
            raise InvalidJobError(f"{where}: {exc}") from None
        return absolute


def _from_env(spec: str, env: Mapping[str, str]) -> tuple[str, str]:
    name, equals, variable = spec.partition("=")
    if not equals or not name or not variable:
        raise InvalidJobError(f"--header-env takes NAME=ENVVAR, not {spec[:60]!r}")
    value = env.get(variable)
    if value is None:
        raise InvalidJobError(f"--header-env {name}: environment variable {variable} is not set")
    check_field(name, value.strip(" \t"), what=f"--header-env {name} (from ${variable})")
    return name, value.strip(" \t")


def _prompt(user: str) -> str:
    if not sys.stdin.isatty():
        raise InvalidJobError(
            f"--user {user} has no password and there is no terminal to ask for it: "
            "give --user USER:PASSWORD, or use --netrc"
        )
    import click

    password: str = click.prompt(
        f"Password for {user}", hide_input=True, default="", show_default=False, err=True
    )
    return password

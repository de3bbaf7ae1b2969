"""The request options of ``uidt download`` and ``uidt upload``: headers, credentials, TLS,
proxies.

:func:`request_options` adds the options (``-H``, ``--header-env``, ``-A``, ``-u``,
``--netrc``..., ``--location-trusted``, ``--cacert``, ``-k``) to a command and hands the command
one ``request_args`` (:class:`~uidt.cli.requestargs.RequestArgs`, whose ``build`` checks them
and turns them into the job's :class:`~uidt.transfers.request.RequestOptions`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import click

from uidt.cli.requestargs import RequestArgs

__all__ = ["RequestArgs", "request_options"]

#: The options as :class:`RequestArgs` names them (its fields: one list for both).
_NAMES = tuple(field.name for field in dataclasses.fields(RequestArgs))


def request_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the request options to a command, which then takes ``request_args: RequestArgs``."""

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> Any:
        typed = {name: kwargs.pop(name) for name in _NAMES}
        return func(*args, request_args=RequestArgs(**typed), **kwargs)

    options = [
        click.option(
            "-H",
            "--header",
            multiple=True,
            metavar="'NAME: VALUE'",
            help="Send this header field (repeatable). Authorization and Cookie are kept "
            "secret: never shown, not sent to another host a redirect leads to.",
        ),
        click.option(
            "--header-env",
            multiple=True,
            metavar="NAME=ENVVAR",
            help="Send the header NAME with the value of the environment variable ENVVAR, "
            "read now (a secret: never shown, kept out of shell history).",
        ),
        click.option("-A", "--user-agent", default=None, metavar="TEXT", help="User-Agent."),
        click.option(
            "-u",
            "--user",
            default=None,
            metavar="USER[:PASSWORD]",
            help="Basic credentials (without :PASSWORD: asked for on the terminal).",
        ),
        click.option("--netrc", is_flag=True, help="Credentials for the host from ~/.netrc."),
        click.option(
            "--netrc-optional",
            is_flag=True,
            help="Like --netrc, but no ~/.netrc is fine and the URL's user:password wins.",
        ),
        click.option(
            "--netrc-file",
            default=None,
            metavar="FILE",
            help="Like --netrc, with FILE (mode 0600, yours) instead of ~/.netrc.",
        ),
        click.option(
            "--location-trusted",
            is_flag=True,
            help="Send the secret headers and credentials to other hosts redirects lead to.",
        ),
        click.option(
            "--cacert",
            default=None,
            metavar="FILE",
            help="Trust the certificate authorities in this PEM file (instead of the "
            "system's; default: $SSL_CERT_FILE when set).",
        ),
        click.option(
            "-k",
            "--insecure",
            is_flag=True,
            help="Do not check the server's certificate (shown in `uidt jobs` and the "
            "notification).",
        ),
        click.option(
            "-x",
            "--proxy",
            default=None,
            metavar="[http://][USER:PASS@]HOST[:PORT]",
            help="Go through this HTTP proxy (HTTPS with CONNECT; port 1080 when none), "
            "instead of $http_proxy/$HTTPS_PROXY/$ALL_PROXY; '' for none.",
        ),
        click.option(
            "--noproxy",
            default=None,
            metavar="LIST",
            help="Hosts, IPs and CIDR ranges (comma-separated, '*' for all) reached "
            "directly (instead of $NO_PROXY).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command

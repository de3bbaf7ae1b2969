"""What a transfer's requests carry besides the URL: :class:`RequestOptions`.

The user's own header fields (``uidt download -H``, ``--user-agent``, ``--user``, ``--netrc``,
``--header-env``) and the TLS choices (``--cacert``, ``--insecure``) travel with the job in its
extras (``extras["request"]``, :meth:`RequestOptions.to_extras`) to the worker, where both
readers (the splice reader and ``aiohttp``) and the upload engine send them.

Secrets: ``Authorization``, ``Cookie``, ``Proxy-Authorization`` and every field given by
``--header-env`` are *secret*. Their values are never shown (:meth:`RequestOptions.scrub`
replaces them with ``<redacted>`` in any text about the job) and are dropped on a redirect to
another origin (scheme, host and port), as ``curl`` does without ``--location-trusted``
(:meth:`RequestOptions.headers_for`). Other fields go to every hop, as with ``curl -H``.

This module does no I/O; reading files (CA bundles, netrc) happens in
:mod:`uidt.transfers.credentials` and :mod:`uidt.transfers.tls`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from uidt.errors import InvalidJobError
from uidt.transfers.proxy import ProxySettings

#: How a secret value is shown.
REDACTED = "<redacted>"

#: Fields whose value is a secret whoever gives them.
SECRET_FIELDS = frozenset({"authorization", "cookie", "proxy-authorization"})

#: Fields uidt sets itself (framing, resuming, tus); a user's value would break the transfer.
OWNED_FIELDS = frozenset(
    {
        "host",
        "range",
        "if-range",
        "content-length",
        "content-range",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "tus-resumable",
        "upload-offset",
        "upload-length",
        "upload-metadata",
    }
)

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def check_field(name: str, value: str, *, what: str = "header") -> None:
    """Refuse a header field uidt cannot send as given (the value is never quoted: it may be a
    secret).

    Raises:
        InvalidJobError: An empty or non-token name, a control character (CR, LF, NUL...) or a
            non-Latin-1 character in the value, an empty value, or a field uidt owns.
    """
    if not name or any(c not in _TCHAR for c in name):
        raise InvalidJobError(f"{what} name {name[:40]!r} is not a valid HTTP field name")
    if name.lower() in OWNED_FIELDS:
        raise InvalidJobError(f"{what} {name!r} is set by uidt itself and cannot be given")
    if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
        raise InvalidJobError(
            f"{what} {name!r}: its value holds a control character (CR, LF...), not sent"
        )
    if any(ord(c) > 255 for c in value):
        raise InvalidJobError(f"{what} {name!r}: its value is not Latin-1 text, not sent")
    if not value.strip():
        raise InvalidJobError(f"{what} {name!r} has an empty value")


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` → ``(name, value)`` (the value stripped of surrounding blanks).

    Raises:
        InvalidJobError: Not of that form, or a field :func:`check_field` refuses. The text
            itself is not quoted, as it may hold a secret; only what precedes a colon is.
    """
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise InvalidJobError(
            "a --header must read 'Name: value' (the text given is not shown: it may hold a secret)"
        )
    if name != name.strip():
        raise InvalidJobError(f"header name {name.strip()[:40]!r} has blanks around it")
    value = value.strip(" \t")
    check_field(name, value)
    return name, value


def origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of ``url``, the port filled in from the scheme."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


@dataclass(frozen=True)
class RequestOptions:
    """The header fields and TLS choices of one transfer.

    Attributes:
        headers: ``(name, value)`` pairs sent with every request (names unique, any case).
        secret: Lower-case names whose values are secrets (beyond :data:`SECRET_FIELDS`).
        location_trusted: Send secret fields (and the URL's password) to other origins a
            redirect leads to (``--location-trusted``).
        cacert: A PEM file of the certificate authorities to trust instead of the system's.
        insecure: Do not check the server's certificate at all (``--insecure``).
        proxy: The proxies to go through (:mod:`uidt.transfers.proxy`).
    """

    headers: tuple[tuple[str, str], ...] = ()
    secret: frozenset[str] = frozenset()
    location_trusted: bool = False
    cacert: str | None = None
    insecure: bool = False
    proxy: ProxySettings = field(default_factory=ProxySettings)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for name, value in self.headers:
            check_field(name, value)
            if name.lower() in seen:
                raise InvalidJobError(f"header {name!r} is given twice")
            seen.add(name.lower())

    def has(self, name: str) -> bool:
        """Whether the user gives the field ``name`` (any case)."""
        return any(n.lower() == name.lower() for n, _ in self.headers)

    def is_secret(self, name: str) -> bool:
        return name.lower() in SECRET_FIELDS or name.lower() in self.secret

    def secret_values(self) -> list[str]:
        """The values that must never be shown: each whole, the token after an auth scheme
        (``Bearer TOKEN``), and a Basic password decoded."""
        values = [value for name, value in self.headers if self.is_secret(name)]
        for value in list(values):
            scheme, _, token = value.partition(" ")
            token = token.strip()
            if not token:
                continue
            values.append(token)
            if scheme.lower() == "basic":
                try:
                    decoded = base64.b64decode(token, validate=True).decode("utf-8")
                except (ValueError, UnicodeDecodeError):
                    continue
                values += [decoded, decoded.partition(":")[2]]
        values += self.proxy.secret_values()
        return [v for v in values if v]

    def scrub(self, text: str) -> str:
        """``text`` with every secret value (and its Basic-auth decoding) replaced."""
        for value in sorted(self.secret_values(), key=len, reverse=True):
            if len(value) >= 4:
                text = text.replace(value, REDACTED)
        return text

    def shown(self) -> list[str]:
        """The fields as they may be shown: ``Authorization: <redacted>``."""
        return [f"{n}: {REDACTED if self.is_secret(n) else v}" for n, v in self.headers]

    def headers_for(self, url: str, *, original: str) -> dict[str, str]:
        """The fields to send to ``url`` on the way from ``original``: secret ones only to the
        same origin, unless :attr:`location_trusted`."""
        same = origin(url) == origin(original)
        return {
            name: value
            for name, value in self.headers
            if same or self.location_trusted or not self.is_secret(name)
        }

    def to_extras(self) -> dict[str, Any]:
        """The JSON form kept in the job's extras (only what is set)."""
        data: dict[str, Any] = {}
        if self.headers:
            data["headers"] = [[n, v] for n, v in self.headers]
        extra_secret = sorted(s for s in self.secret if s not in SECRET_FIELDS)
        if extra_secret:
            data["secret"] = extra_secret
        if self.location_trusted:
            data["location_trusted"] = True
        if self.cacert is not None:
            data["cacert"] = self.cacert
        if self.insecure:
            data["insecure"] = True
        if self.proxy.to_json():
            data["proxy"] = self.proxy.to_json()
        return data

    @classmethod
    def from_extras(cls, extras: Mapping[str, Any]) -> RequestOptions:
        """The options a job's extras hold (none: the defaults).

        Raises:
            InvalidJobError: ``extras["request"]`` is not of the form :meth:`to_extras` writes.
        """
        data = extras.get("request")
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise InvalidJobError("the job's request options are not an object")
        pairs = data.get("headers", [])
        secret = data.get("secret", [])
        cacert = data.get("cacert")
        if (
            not isinstance(pairs, list)
            or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
                for p in pairs
            )
            or not isinstance(secret, list)
            or not all(isinstance(s, str) for s in secret)
            or not (cacert is None or isinstance(cacert, str))
        ):
            raise InvalidJobError("the job's request options are malformed")
        return cls(
            headers=tuple((n, v) for n, v in pairs),
            secret=frozenset(s.lower() for s in secret),
            location_trusted=data.get("location_trusted") is True,
            cacert=cacert,
            insecure=data.get("insecure") is True,
            proxy=ProxySettings.from_json(data.get("proxy")),
        )


def without_userinfo(url: str) -> str:
    """``url`` without ``user:password@`` (an ``Authorization`` field given wins over it)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def merged(user: Mapping[str, str], own: Mapping[str, str]) -> dict[str, str]:
    """The user's fields with uidt's own (``Range``...) on top, one entry per name."""
    fields = {name: value for name, value in user.items() if name.lower() not in _lower(own)}
    fields.update(own)
    return fields


def _lower(fields: Mapping[str, str]) -> set[str]:
    return {name.lower() for name in fields}


def has_field(fields: Mapping[str, str], name: str) -> bool:
    """Whether ``fields`` holds ``name`` (any case)."""
    return name.lower() in _lower(fields)

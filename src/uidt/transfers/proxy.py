"""Which proxy a request goes through: :class:`ProxySettings`, read as ``curl`` reads them.

The settings come from the environment of the shell that submits the job
(:meth:`ProxySettings.from_environ`, called by the CLI at submit time: the worker runs in the
daemon's environment, not the user's) and from ``--proxy``/``--noproxy``, and travel with the job
in its request options. For each URL (each hop of a redirect too) :meth:`ProxySettings.proxy_for`
answers the proxy to use, or ``None`` for a direct connection:

* ``--proxy URL`` wins over the environment (``--proxy ""``: no proxy at all);
* else ``http_proxy`` for ``http://`` URLs (lower case only: ``curl`` ignores ``HTTP_PROXY``,
  which a CGI program would get from a request's ``Proxy:`` header), ``https_proxy`` or
  ``HTTPS_PROXY`` for ``https://``, then ``all_proxy`` or ``ALL_PROXY`` for either (lower case
  first);
* never for a host ``--noproxy LIST`` (or else ``no_proxy``/``NO_PROXY``) names: a comma- or
  blank-separated list of host names (each matches itself and its subdomains; a leading dot is
  ignored), IP addresses, CIDR ranges (``10.0.0.0/8``, ``::1/128``), or ``*`` for every host.

A proxy URL without a scheme is ``http://``; without a port, ``1080`` (``curl``'s default).
Only ``http://`` proxies are spoken (``HTTPS`` goes through them with ``CONNECT``); another
scheme (``socks5://``, ``https://``) is refused at submit time. ``user:password@`` in the proxy
URL becomes a ``Proxy-Authorization: Basic`` field sent to the proxy only; the password is a
secret (:meth:`ProxySettings.secret_values`, :meth:`ProxySettings.shown`).

This module does no I/O.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from uidt.errors import InvalidJobError, ProxyError

#: ``curl``'s port for a proxy URL that names none.
DEFAULT_PROXY_PORT = 1080

_REDACTED = "<redacted>"
_FIELDS = frozenset({"proxy", "noproxy", "http_proxy", "https_proxy", "all_proxy", "no_proxy"})


def _first(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = env.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


@dataclass(frozen=True)
class Proxy:
    """One proxy: where it listens and the ``Proxy-Authorization`` it wants, if any."""

    host: str
    port: int
    authorization: str | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` (no credentials: those go in :attr:`authorization`)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def where(self) -> str:
        """``host:port``, as error lines name it."""
        return f"{self.host}:{self.port}"


def proxy_refused(url: str, where: str | None, status: int) -> ProxyError:
    """The permanent error of a proxy that answered ``status`` (a 4xx) for ``url``."""
    who = f"the proxy {where}" if where else "the proxy"
    if status == 407:
        return ProxyError(
            f"{url}: {who} wants credentials (407 Proxy Authentication Required): give its "
            "user name and password in the proxy URL, before the host"
        )
    return ProxyError(f"{url}: {who} refused the request ({status})")


def aiohttp_arguments(proxy: Proxy | None, url: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """The arguments of an ``aiohttp`` request to ``url`` with ``fields`` through ``proxy``:
    ``proxy=``, and the ``Proxy-Authorization`` in ``proxy_headers=`` (the ``CONNECT`` of an
    ``https://`` URL) or among the request's own fields (an ``http://`` URL's absolute-URI
    request, which ``aiohttp`` sends with the request's fields only). ``headers=`` is always
    there: ``fields``, or a copy with that field.
    """
    if proxy is None:
        return {"headers": fields}
    arguments: dict[str, Any] = {"proxy": proxy.url, "headers": fields}
    if proxy.authorization is not None:
        credentials = {"Proxy-Authorization": proxy.authorization}
        if urlsplit(url).scheme.lower() == "https":
            arguments["proxy_headers"] = credentials
        else:
            arguments["headers"] = {**fields, **credentials}
    return arguments


def parse_proxy(text: str, *, what: str = "--proxy") -> Proxy:
    """``[http://][user[:password]@]host[:port]`` → :class:`Proxy`.

    Raises:
        InvalidJobError: Another scheme, no host, a bad port. The text is not quoted when it
            holds credentials.
    """
    raw = text.strip()
    shown = raw if "@" not in raw else "(the URL is not shown: it holds credentials)"
    if "://" not in raw:
        raw = "http://" + raw
    parts = urlsplit(raw)
    if parts.scheme.lower() != "http":
        raise InvalidJobError(
            f"{what}: only http:// proxies are supported (HTTPS goes through them with "
            f"CONNECT), not {parts.scheme}://"
        )
    try:
        port = parts.port
    except ValueError:
        raise InvalidJobError(f"{what}: bad port in {shown}") from None
    if not parts.hostname:
        raise InvalidJobError(f"{what}: no host in {shown!r}")
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return Proxy(parts.hostname.lower(), port or DEFAULT_PROXY_PORT, authorization)


def _host_matches(host: str, entry: str) -> bool:
    entry = entry.strip().lower().strip("[]")
    if not entry:
        return False
    if entry == "*":
        return True
    host = host.lower().strip("[]").rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if "/" in entry:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
        return address is not None and address.version == network.version and address in network
    if address is not None:
        try:
            return ipaddress.ip_address(entry) == address
        except ValueError:
            return False
    entry = entry.lstrip(".").rstrip(".")
    return host == entry or host.endswith("." + entry)


def no_proxy_matches(host: str, no_proxy: str) -> bool:
    """Whether ``host`` is one a ``NO_PROXY`` list keeps off the proxy (see the module doc)."""
    entries = no_proxy.replace(",", " ").split()
    return any(_host_matches(host, entry) for entry in entries)


@dataclass(frozen=True)
class ProxySettings:
    """The proxy choices of one transfer (see the module docstring for the rules).

    Attributes:
        proxy: ``--proxy`` (``""``: no proxy whatever the environment says).
        noproxy: ``--noproxy`` (wins over ``no_proxy``).
        http_proxy: ``http_proxy`` from the environment.
        https_proxy: ``https_proxy`` or ``HTTPS_PROXY``.
        all_proxy: ``all_proxy`` or ``ALL_PROXY``.
        no_proxy: ``no_proxy`` or ``NO_PROXY``.
    """

    proxy: str | None = None
    noproxy: str | None = None
    http_proxy: str | None = None
    https_proxy: str | None = None
    all_proxy: str | None = None
    no_proxy: str | None = None

    def __post_init__(self) -> None:
        for name in ("proxy", "http_proxy", "https_proxy", "all_proxy"):
            value = getattr(self, name)
            if value:
                parse_proxy(value, what="--proxy" if name == "proxy" else name)

    @classmethod
    def from_environ(
        cls, env: Mapping[str, str], *, proxy: str | None = None, noproxy: str | None = None
    ) -> ProxySettings:
        """The settings of ``env`` (the submitting shell's) and the flags.

        Raises:
            InvalidJobError: A proxy URL uidt cannot use (named by its variable).
        """
        return cls(
            proxy=proxy,
            noproxy=noproxy,
            http_proxy=_first(env, "http_proxy"),
            https_proxy=_first(env, "https_proxy", "HTTPS_PROXY"),
            all_proxy=_first(env, "all_proxy", "ALL_PROXY"),
            no_proxy=_first(env, "no_proxy", "NO_PROXY"),
        )

    def proxy_for(self, url: str) -> Proxy | None:
        """The proxy a request to ``url`` goes through, ``None`` for a direct connection."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if self.proxy is not None:
            chosen: str | None = self.proxy.strip() or None
        elif scheme == "http":
            chosen = self.http_proxy or self.all_proxy
        elif scheme == "https":
            chosen = self.https_proxy or self.all_proxy
        else:
            chosen = None
        if chosen is None:
            return None
        skip = self.noproxy if self.noproxy is not None else self.no_proxy
        if skip and no_proxy_matches(parts.hostname or "", skip):
            return None
        return parse_proxy(chosen)

    def _urls(self) -> list[str]:
        return [u for u in (self.proxy, self.http_proxy, self.https_proxy, self.all_proxy) if u]

    def secret_values(self) -> list[str]:
        """The proxies' passwords and ``Proxy-Authorization`` values (never shown)."""
        values: list[str] = []
        for text in self._urls():
            parsed = parse_proxy(text)
            parts = urlsplit(text if "://" in text else "http://" + text)
            if parsed.authorization is not None:
                values.append(parsed.authorization)
                values.append(parsed.authorization.partition(" ")[2])
            if parts.password:
                values += [parts.password, unquote(parts.password)]
        return [v for v in values if v]

    def shown(self) -> list[str]:
        """The settings as they may be shown, passwords redacted."""
        lines = []
        for name, value in self.to_json().items():
            if name != "noproxy" and name != "no_proxy" and "@" in value:
                scheme, sep, rest = value.rpartition("://")
                userinfo, _, hostport = rest.rpartition("@")
                user = userinfo.partition(":")[0]
                value = f"{scheme}{sep}{user}:{_REDACTED}@{hostport}"
            lines.append(f"{name}={value}")
        return lines

    def to_json(self) -> dict[str, str]:
        """The JSON form kept in the job's request options (only what is set)."""
        return {
            name: value
            for name, value in (
                ("proxy", self.proxy),
                ("noproxy", self.noproxy),
                ("http_proxy", self.http_proxy),
                ("https_proxy", self.https_proxy),
                ("all_proxy", self.all_proxy),
                ("no_proxy", self.no_proxy),
            )
            if value is not None
        }

    @classmethod
    def from_json(cls, data: Any) -> ProxySettings:
        """The settings :meth:`to_json` wrote.

        Raises:
            InvalidJobError: Not an object of strings.
        """
        if data is None:
            return cls()
        if not isinstance(data, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise InvalidJobError("the job's proxy settings are malformed")
        return cls(**{k: v for k, v in data.items() if k in _FIELDS})

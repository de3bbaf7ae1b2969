"""What a failed transfer attempt means: the one place that maps low-level errors to kinds.

Both download transports (:mod:`uidt.transfers.rawtransport`, :mod:`uidt.transfers.aiotransport`)
and the upload engine raise whatever their libraries raise: ``OSError`` and its socket
subclasses, timeouts, the splice reader's own errors (:mod:`uidt.transfers.rawhttp`),
``aiohttp``'s ``ClientError`` family (TLS errors included). :func:`classify` reads them all
through one table, :data:`RULES` (first match wins, so subclasses come before their bases), and
answers a :class:`Failure`:

========================  =================================================================
``LINK``                  the connection failed (refused, reset, timed out, cut short, a
                          garbled answer, a TLS handshake that failed, a network errno such
                          as ``EHOSTUNREACH``): retried soon, as the link may be back in a
                          second
``STATUS``                the server answered a status worth retrying (5xx, 429, 408):
                          retried with a growing wait
``BAD_URL``               the URL cannot be requested: permanent
``REMOTE``                the server's answers cannot be used (a redirect loop): permanent
``PROXY``                 the proxy refused a ``CONNECT`` with a 4xx (``407``: it wants
                          credentials): permanent
``CERTIFICATE``           the server's TLS certificate was not accepted: permanent at once,
                          as it will not change within a run (curl's exit 60)
``LOCAL_DISK``            writing the file failed (any other ``OSError``): permanent
========================  =================================================================

Anything else is not an I/O failure and passes unchanged: uidt's own errors (a
:class:`~uidt.errors.TransferError` already says what happened), a restart from zero (the
resume checks of :mod:`uidt.transfers.resumecheck`), a cancellation, a bug.
:func:`permanent_error` words the permanent kinds as :class:`~uidt.errors.TransferError`\\ s;
:func:`gave_up_error` words a transient one whose retries ran out.

Sockets and files raise the same ``OSError``; only its ``errno`` tells them apart. Python gives
the connection errnos their own classes (``ConnectionResetError``, ``TimeoutError``, ...), the
others need the rows of :data:`NETWORK_ERRNOS`: a number there is one a socket gives (no route,
network down, host down, ...) and a local file never does, so it is a link failure wherever it
comes from. ``EIO`` is left to the disk on purpose: Linux sockets do not report it (``tcp(7)``
lists no ``EIO``) while a failing disk does, and taking a dying disk for a link would retry
writes onto it and then name the wrong culprit. A network file system may report a lost server
as ``ETIMEDOUT`` on a write; that reads as a link failure, which is what it is.

``aiohttp`` is imported only by a transfer that needs it, so its rows are read from
``sys.modules``: a plain-HTTP download never pays for the import.
"""

from __future__ import annotations

import enum
import errno
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from uidt.errors import (
    NoSpaceError,
    RemoteError,
    ServerCertificateError,
    TransferError,
    UidtError,
)
from uidt.transfers.rawhttp import ConnectFailedError
from uidt.transfers.speedfloor import TooSlowError


class Failure(enum.Enum):
    """The kind of a failed attempt (see the module docstring)."""

    LINK = "link"
    STATUS = "status"
    BAD_URL = "bad-url"
    REMOTE = "remote"
    CERTIFICATE = "certificate"
    PROXY = "proxy"
    LOCAL_DISK = "local-disk"

    @property
    def transient(self) -> bool:
        """Whether another attempt within the same run may succeed."""
        return self in (Failure.LINK, Failure.STATUS)


class TransientStatusError(Exception):
    """A status worth retrying (5xx, 429, 408), with the server's ``Retry-After`` if any."""

    def __init__(self, status: int, reason: str, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status
        self.retry_after = retry_after


class TooManyRedirectsError(Exception):
    """A download was redirected more often than it allows (a loop?)."""


@dataclass(frozen=True)
class Errnos:
    """A row's match by number: a plain ``OSError`` whose ``errno`` is one of ``numbers``."""

    numbers: frozenset[int]


#: What a socket reports and a local file never does (the connection errnos that Python gives
#: a ``ConnectionError`` or ``TimeoutError`` class of its own are caught by those rows).
NETWORK_ERRNOS = Errnos(
    frozenset(
        {
            errno.ENETDOWN,  # the interface went down
            errno.ENETUNREACH,  # no route to the network
            errno.ENETRESET,  # the network dropped the connection
            errno.EHOSTDOWN,  # the host is down
            errno.EHOSTUNREACH,  # no route to the host
            errno.ENONET,  # this machine is not on a network
            errno.ETIMEDOUT,  # the connection timed out (a TimeoutError already)
            errno.ENOTCONN,  # the socket is no longer connected
            errno.EADDRNOTAVAIL,  # no local address or port for the connection
            errno.ENOBUFS,  # the socket's buffers ran out
            errno.EPROTO,  # a protocol error on the connection
        }
    )
)

Rule = tuple[type[BaseException] | str | Errnos, Failure]
"""``(class, kind)``: an error of that class (or a subclass) is of that kind. A class named
``"module.Name"`` is looked up only once its module is imported; an :class:`Errnos` matches
an ``OSError`` by its number."""

#: The table, in order: the first row whose class the error is an instance of decides.
RULES: tuple[Rule, ...] = (
    (TransientStatusError, Failure.STATUS),
    # ``aiohttp``: a URL it cannot request, a redirect loop, then every connection and body
    # error (certificate and TLS errors are connection errors there), then what is left of
    # the family: an answer it could not parse (a garbled status line or head).
    (TooManyRedirectsError, Failure.REMOTE),
    ("aiohttp.InvalidURL", Failure.BAD_URL),
    ("aiohttp.TooManyRedirects", Failure.REMOTE),
    ("aiohttp.ClientConnectorCertificateError", Failure.CERTIFICATE),
    ("aiohttp.ClientConnectionError", Failure.LINK),
    ("aiohttp.ClientPayloadError", Failure.LINK),
    ("aiohttp.ClientError", Failure.LINK),
    # The splice reader's errors (connect failed, body cut short, not HTTP/1.x) are
    # ``ConnectionError``\ s; timeouts (the lowest-speed rule's too) are ``TimeoutError``\ s.
    (ConnectionError, Failure.LINK),
    (TimeoutError, Failure.LINK),
    # A certificate that is not accepted stays so; a handshake that was cut may not recur.
    ("ssl.SSLCertVerificationError", Failure.CERTIFICATE),
    ("ssl.SSLError", Failure.LINK),
    (NETWORK_ERRNOS, Failure.LINK),
    # Every other ``OSError`` comes from the file: the sockets' own are above.
    (OSError, Failure.LOCAL_DISK),
)


def _rule_class(rule: type[BaseException] | str | Errnos) -> type[BaseException] | None:
    """The class a row names (``None``: not imported yet, or a row by number)."""
    if isinstance(rule, Errnos):
        return None
    if not isinstance(rule, str):
        return rule
    module, _, name = rule.rpartition(".")
    loaded = sys.modules.get(module)
    found = getattr(loaded, name, None) if loaded is not None else None
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def classify(exc: BaseException) -> Failure | None:
    """The kind of ``exc``, or ``None`` when it is not a low-level I/O failure.

    uidt's own errors (:class:`~uidt.errors.UidtError`) are ``None``: they already say what
    happened, and a :class:`~uidt.errors.TransferError` is an ``OSError`` that must not be
    taken for a disk error.
    """
    if isinstance(exc, UidtError):
        return None
    refused = _rule_class("aiohttp.ClientHttpProxyError")
    if refused is not None and isinstance(exc, refused) and 400 <= exc.status < 500:  # type: ignore[attr-defined]
        return Failure.PROXY  # a 5xx (the proxy could not reach the server) is a link error
    for rule, kind in RULES:
        if isinstance(rule, Errnos):
            if isinstance(exc, OSError) and exc.errno in rule.numbers:
                return kind
            continue
        cls = _rule_class(rule)
        if cls is not None and isinstance(exc, cls):
            return kind
    return None


def is_transient(exc: BaseException) -> bool:
    """Whether another attempt within the same run may fix ``exc`` (a link or status failure)."""
    kind = classify(exc)
    return kind is not None and kind.transient


def transient_errors() -> tuple[type[BaseException], ...]:
    """Transient classes for an ``except`` clause (the upload engine's).

    An ``except`` clause cannot keep the table's order, so this lists only the transient rows
    that catch nothing a permanent row above them claims (not ``aiohttp.ClientError``, which
    would catch ``InvalidURL``) and no row by number: everything it catches is transient, but
    :func:`is_transient` is the whole answer.
    """
    permanent = [_rule_class(rule) for rule, kind in RULES if not kind.transient]
    found: list[type[BaseException]] = []
    for rule, kind in RULES:
        cls = _rule_class(rule)
        if not kind.transient or cls is None:
            continue
        if not any(other is not None and issubclass(other, cls) for other in permanent):
            found.append(cls)
    return tuple(found)


def permanent_error(exc: BaseException, *, url: str, dest: Path | None = None) -> TransferError:
    """``exc`` (a permanent failure: not ``LINK`` or ``STATUS``) as a :class:`TransferError`.

    Args:
        exc: The error.
        url: The URL of the transfer (its password is taken out later, with the rest).
        dest: The file being written, named by a disk error.
    """
    kind = classify(exc)
    wording = _PERMANENT.get(kind) if kind is not None else None
    if wording is None:
        raise ValueError(f"not a permanent transfer failure: {exc!r}")
    return wording(exc, url, dest)


def _bad_url(exc: BaseException, url: str, dest: Path | None) -> TransferError:
    return TransferError(f"bad URL {url!r}: {exc}")


def _remote(exc: BaseException, url: str, dest: Path | None) -> TransferError:
    return RemoteError(f"{url}: too many redirects (a loop?)")


def _certificate(exc: BaseException, url: str, dest: Path | None) -> TransferError:
    # aiohttp wraps the ssl module's error; its text is then the one worth showing.
    cause = getattr(exc, "certificate_error", exc)
    why = getattr(cause, "verify_message", None)
    if why:
        why = f"certificate verify failed: {why}"
    else:
        why = getattr(cause, "strerror", None) or str(cause)
    return ServerCertificateError(f"{url}: the server's certificate was not accepted: {why}")


def _proxy(exc: BaseException, url: str, dest: Path | None) -> TransferError:
    from uidt.transfers.proxy import proxy_refused

    return proxy_refused(url, None, getattr(exc, "status", 0))


def _local_disk(exc: BaseException, url: str, dest: Path | None) -> TransferError:
    assert isinstance(exc, OSError)
    where = dest if dest is not None else url
    if exc.errno == errno.ENOSPC:
        return NoSpaceError(errno.ENOSPC, f"{where}: no space left", str(exc))
    return TransferError(exc.errno, f"{where}: cannot write the file ({exc.strerror or exc})")


_PERMANENT: dict[Failure, Callable[[BaseException, str, Path | None], TransferError]] = {
    Failure.BAD_URL: _bad_url,
    Failure.REMOTE: _remote,
    Failure.CERTIFICATE: _certificate,
    Failure.PROXY: _proxy,
    Failure.LOCAL_DISK: _local_disk,
}


def proxy_unreachable(exc: BaseException) -> str:
    """``the proxy HOST:PORT refused the connection`` (or why else it could not be reached)."""
    host, port = getattr(exc, "host", "?"), getattr(exc, "port", "?")
    cause = getattr(exc, "os_error", None) or exc
    if isinstance(cause, ConnectionRefusedError):
        return f"the proxy {host}:{port} refused the connection"
    return f"cannot reach the proxy {host}:{port} ({_cause_words(cause)})"


def _cause_words(cause: BaseException) -> str:
    """``connection refused``: the words of an ``OSError``'s number, without the number
    (``[Errno 111]``) or a library's own wording (asyncio's "Connect call failed (...)")."""
    if isinstance(cause, OSError) and not isinstance(cause, socket.gaierror) and cause.errno:
        words = os.strerror(cause.errno)
    elif isinstance(cause, OSError) and cause.strerror:
        words = cause.strerror
    else:
        words = str(cause)
    words = words or type(cause).__name__
    return words[:1].lower() + words[1:]


def _unreachable(exc: BaseException) -> str | None:
    """``cannot reach HOST:PORT (why)`` (a proxy's words for a proxy), ``None`` when ``exc`` is
    not a failed connect."""
    through = _rule_class("aiohttp.ClientProxyConnectionError")
    if (isinstance(exc, ConnectFailedError) and exc.proxy) or (
        through is not None and isinstance(exc, through)
    ):
        return proxy_unreachable(exc)
    connector = _rule_class("aiohttp.ClientConnectorError")
    if isinstance(exc, ConnectFailedError) or (
        connector is not None and isinstance(exc, connector)
    ):
        host, port, cause = exc.host, exc.port, exc.os_error  # type: ignore[attr-defined]
        return f"cannot reach {host}:{port} ({_cause_words(cause)})"
    return None


def trouble(exc: BaseException) -> str:
    """What a transient failure (``LINK`` or ``STATUS``) was, in words for the user, without the
    URL: ``cannot reach 127.0.0.1:9 (connection refused)``, ``the proxy 127.0.0.1:1 refused the
    connection``, ``the server answered HTTP 503 Service Unavailable``. A retrying transfer's
    notification shows it after ``retrying:`` (:mod:`uidt.transfers.retrynotes`)."""
    if isinstance(exc, TransientStatusError):
        return f"the server answered {exc}"
    unreachable = _unreachable(exc)
    if unreachable is not None:
        return unreachable
    if isinstance(exc, TooSlowError):
        return f"the transfer stayed {exc}"
    if isinstance(exc, TimeoutError):
        return f"timed out ({exc})" if str(exc) else "timed out"
    # Not "failed": the job has not, and the word would read as its state.
    words = _cause_words(exc) if isinstance(exc, OSError) and exc.errno else str(exc)
    return f"the connection broke ({words})" if words else "the connection broke"


#: ``getaddrinfo``'s answers that the name does not exist (not "cannot ask now": ``EAI_AGAIN``).
_NO_SUCH_NAME = frozenset(
    code
    for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None))
    if code is not None
)


def no_such_name(exc: BaseException) -> bool:
    """Whether ``exc`` is a connect that failed because the resolver answered that the host name
    does not exist (``EAI_NONAME``, ``EAI_NODATA``): an answer, unlike a resolver that could not
    be asked (``EAI_AGAIN``) or a refused connection."""
    cause = getattr(exc, "os_error", None)
    if _unreachable(exc) is None or not isinstance(cause, socket.gaierror):
        return False
    return cause.errno in _NO_SUCH_NAME


def gave_up_error(url: str, exc: BaseException) -> TransferError:
    """What kept failing, once the retries of a transient failure are used up."""
    if isinstance(exc, TransientStatusError):
        return RemoteError(f"{url}: the server kept answering {exc}")
    unreachable = _unreachable(exc)
    if unreachable is not None:
        return TransferError(f"{url}: {unreachable}")
    return TransferError(f"{url}: gave up after repeated errors ({type(exc).__name__}: {exc})")

"""The TLS side of a transfer's :class:`~uidt.transfers.request.RequestOptions`.

``--cacert FILE`` (or ``SSL_CERT_FILE``, read by the CLI when the job is scheduled, since the
worker runs in the daemon's environment) makes the certificate authorities of ``FILE`` the
ones trusted, instead of the system's, as ``curl --cacert`` does. ``--insecure`` turns the
certificate check off; it is only ever an explicit flag, and ``uidt jobs`` and the
notification say so.

Both readers get their TLS settings here: ``aiohttp`` through :func:`ssl_for`, uidt's own
HTTP/1.1 reader (:mod:`uidt.transfers.rawhttp`) through :func:`client_context`. Either way the
certificate and the host name are checked (unless ``--insecure``) and nothing older than
TLS 1.2 is spoken.
"""

from __future__ import annotations

import functools
import ssl

from uidt.errors import InvalidJobError, TransferError
from uidt.transfers.request import RequestOptions


def load_cafile(path: str) -> ssl.SSLContext:
    """A client context trusting the certificates in the PEM file ``path`` (only those).

    Raises:
        InvalidJobError: The file is missing, unreadable, or holds no certificate.
    """
    try:
        context = ssl.create_default_context(cafile=path)
    except FileNotFoundError:
        raise InvalidJobError(f"CA file {path} does not exist") from None
    except PermissionError:
        raise InvalidJobError(f"CA file {path} cannot be read (permission denied)") from None
    except IsADirectoryError:
        raise InvalidJobError(f"CA file {path} is a directory, not a PEM file") from None
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        raise InvalidJobError(f"CA file {path} holds no usable certificate ({reason})") from None
    if not context.get_ca_certs():
        raise InvalidJobError(f"CA file {path} holds no certificate")
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@functools.lru_cache(maxsize=8)
def _cached(path: str) -> ssl.SSLContext:
    return load_cafile(path)


def ssl_for(options: RequestOptions) -> ssl.SSLContext | bool:
    """What ``aiohttp``'s ``ssl=`` gets: ``False`` (insecure), the CA file's context, or
    ``True`` (the system's trust).

    Raises:
        TransferError: The job's CA file can no longer be used (checked when it was
            scheduled; a permanent failure now).
    """
    if options.insecure:
        return False
    if options.cacert is None:
        return True
    try:
        return _cached(options.cacert)
    except InvalidJobError as exc:
        raise TransferError(str(exc)) from None


@functools.lru_cache(maxsize=8)
def _client_context(cacert: str | None, insecure: bool) -> ssl.SSLContext:
    if cacert is not None:
        context = load_cafile(cacert)
    else:
        context = ssl.create_default_context()  # the system's trust (and SSL_CERT_FILE)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])  # the raw reader speaks HTTP/1.1 only
    return context


def client_context(options: RequestOptions) -> ssl.SSLContext:
    """The TLS context of uidt's own reader for ``options``: the CA file's authorities or the
    system's, the host name checked, TLS 1.2 at least; no check at all with ``--insecure``.

    Raises:
        TransferError: The job's CA file can no longer be used.
    """
    try:
        return _client_context(None if options.insecure else options.cacert, options.insecure)
    except InvalidJobError as exc:
        raise TransferError(str(exc)) from None

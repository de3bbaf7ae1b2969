"""The TLS side of a transfer's :class:`~uidt.transfers.request.RequestOptions`.

``--cacert FILE`` (or ``SSL_CERT_FILE``, read by the CLI when the job is scheduled, since the
worker runs in the daemon's environment) makes the certificate authorities of ``FILE`` the
ones trusted, instead of the system's, as ``curl --cacert`` does. ``--insecure`` turns the
certificate check off; it is only ever an explicit flag, and ``uidt jobs`` and the
notification say so.
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

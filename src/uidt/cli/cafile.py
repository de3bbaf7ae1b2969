"""The quick check of a CA file (``--cacert``, ``$SSL_CERT_FILE``): a readable file with a PEM
certificate in it, without loading it into an SSL context.

Loading a system bundle costs the command tens of milliseconds (:mod:`ssl` itself, then every
certificate parsed: ~50 ms for the 144 of a Debian bundle), which a transfer that speaks no TLS
should not wait for. The command line loads the file fully only for an ``https://`` URL
(:meth:`uidt.cli.requestargs.RequestArgs.build`); for ``http://`` and for the launcher's early
check (:mod:`uidt.cli.precheck`) this is enough, and a transfer that is redirected to
``https://`` loads the file when it first needs it, failing with the same words if it is
unusable (:mod:`uidt.transfers.tls`). ``curl --cacert`` reads the file only for TLS too.
"""

from __future__ import annotations

from uidt.errors import InvalidJobError

_PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
#: The most of the file read (a CA bundle is a few hundred KiB).
_MOST_BYTES = 16 << 20


def cafile_looks_usable(path: str) -> None:
    """Refuse ``path`` unless it is a readable file that holds a PEM certificate.

    Raises:
        InvalidJobError: It is missing, a directory, unreadable, or holds no PEM certificate.
    """
    try:
        with open(path, "rb") as file:
            head = file.read(_MOST_BYTES)
    except FileNotFoundError:
        raise InvalidJobError(f"CA file {path} does not exist") from None
    except IsADirectoryError:
        raise InvalidJobError(f"CA file {path} is a directory, not a PEM file") from None
    except PermissionError:
        raise InvalidJobError(f"CA file {path} cannot be read (permission denied)") from None
    except OSError as exc:
        raise InvalidJobError(f"CA file {path} cannot be read ({exc.strerror or exc})") from None
    if _PEM_CERTIFICATE not in head:
        raise InvalidJobError(f"CA file {path} holds no certificate")

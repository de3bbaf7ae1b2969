"""The one map from low-level errors to failure kinds (:mod:`uidt.transfers.failures`)."""

from __future__ import annotations

import errno
import os
import socket
import ssl
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from uidt.errors import (
    InconsistentServerError,
    NoSpaceError,
    RemoteError,
    RetryLaterError,
    ServerCertificateError,
    TransferError,
)
from uidt.transfers.failures import (
    Failure,
    TooManyRedirectsError,
    TransientStatusError,
    classify,
    gave_up_error,
    is_transient,
    no_such_name,
    permanent_error,
    transient_errors,
    trouble,
)
from uidt.transfers.notices import Notice
from uidt.transfers.rawhttp import BadResponseError, BodyEndedError, ConnectFailedError
from uidt.transfers.resumecheck import RestartFromZero
from uidt.transfers.speedfloor import TooSlowError

_REQUEST = aiohttp.RequestInfo(URL("http://127.0.0.1/f"), "GET", {}, URL("http://127.0.0.1/f"))  # type: ignore[arg-type]
_KEY = aiohttp.client_reqrep.ConnectionKey(  # type: ignore[attr-defined]
    "127.0.0.1", 443, True, True, None, None, None
)

#: (the error, the kind it must map to); ``None``: not a low-level failure, passes unchanged.
TABLE: list[tuple[str, BaseException, Failure | None]] = [
    # the splice reader's own errors
    (
        "connect failed",
        ConnectFailedError("h", 1, ConnectionRefusedError(111, "refused")),
        Failure.LINK,
    ),
    ("body ended", BodyEndedError("the body ended early"), Failure.LINK),
    ("not HTTP/1.x", BadResponseError("not an HTTP/1.x response"), Failure.LINK),
    # sockets and timeouts
    ("reset", ConnectionResetError(errno.ECONNRESET, "reset"), Failure.LINK),
    ("broken pipe", BrokenPipeError(errno.EPIPE, "pipe"), Failure.LINK),
    ("read timeout", TimeoutError("no data from the server"), Failure.LINK),
    ("ETIMEDOUT", TimeoutError(errno.ETIMEDOUT, "Connection timed out"), Failure.LINK),
    ("name lookup", ConnectFailedError("h", 1, socket.gaierror(-2, "unknown")), Failure.LINK),
    # socket errors that are no ``ConnectionError``: the network, not the disk
    *[
        (errno.errorcode[number], OSError(number, os.strerror(number)), Failure.LINK)
        for number in (
            errno.EHOSTUNREACH,
            errno.ENETUNREACH,
            errno.ENETDOWN,
            errno.ENETRESET,
            errno.EHOSTDOWN,
            errno.ENONET,
            errno.ENOTCONN,
            errno.EADDRNOTAVAIL,
            errno.ENOBUFS,
            errno.EPROTO,
        )
    ],
    ("ETIMEDOUT as OSError", OSError(errno.ETIMEDOUT, "Connection timed out"), Failure.LINK),
    ("TLS", ssl.SSLError(1, "bad record mac"), Failure.LINK),
    (
        "TLS handshake cut",
        ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
        Failure.LINK,
    ),
    ("TLS handshake reset", ConnectionResetError(errno.ECONNRESET, "reset"), Failure.LINK),
    # a certificate that is not accepted will not change within a run: permanent at once
    ("TLS certificate", ssl.SSLCertVerificationError(1, "unknown CA"), Failure.CERTIFICATE),
    # statuses
    ("503", TransientStatusError(503, "Service Unavailable", None), Failure.STATUS),
    ("429", TransientStatusError(429, "Too Many Requests", 30.0), Failure.STATUS),
    # aiohttp
    (
        "aiohttp connector",
        aiohttp.ClientConnectorError(_KEY, OSError(111, "refused")),
        Failure.LINK,
    ),
    ("aiohttp disconnected", aiohttp.ServerDisconnectedError(), Failure.LINK),
    ("aiohttp timeout", aiohttp.ServerTimeoutError("read"), Failure.LINK),
    ("aiohttp payload", aiohttp.ClientPayloadError("cut short"), Failure.LINK),
    ("aiohttp OS error", aiohttp.ClientOSError(errno.ECONNRESET, "reset"), Failure.LINK),
    (
        "aiohttp certificate",
        aiohttp.ClientConnectorCertificateError(_KEY, ssl.SSLCertVerificationError("CA")),
        Failure.CERTIFICATE,
    ),
    (
        "aiohttp TLS handshake",
        aiohttp.ClientConnectorSSLError(_KEY, ssl.SSLEOFError(8, "EOF")),
        Failure.LINK,
    ),
    (
        "aiohttp garbled head",
        aiohttp.ClientResponseError(_REQUEST, (), status=400, message="Bad status line"),
        Failure.LINK,
    ),
    ("aiohttp bad URL", aiohttp.InvalidURL("http://[::1/"), Failure.BAD_URL),
    (
        "aiohttp redirect loop",
        aiohttp.TooManyRedirects(_REQUEST, (), status=302),
        Failure.REMOTE,
    ),
    ("our redirect loop", TooManyRedirectsError("more than 10 redirects"), Failure.REMOTE),
    # the file
    ("disk full", OSError(errno.ENOSPC, "No space left on device"), Failure.LOCAL_DISK),
    ("I/O error", OSError(errno.EIO, "Input/output error"), Failure.LOCAL_DISK),
    ("bad descriptor", OSError(errno.EBADF, "Bad file descriptor"), Failure.LOCAL_DISK),
    ("read-only", PermissionError(errno.EROFS, "Read-only file system"), Failure.LOCAL_DISK),
    ("quota", OSError(errno.EDQUOT, "Disk quota exceeded"), Failure.LOCAL_DISK),
    ("no access", PermissionError(errno.EACCES, "Permission denied"), Failure.LOCAL_DISK),
    ("too big", OSError(errno.EFBIG, "File too large"), Failure.LOCAL_DISK),
    # not low-level failures: they pass unchanged
    ("our error", TransferError("bad URL"), None),
    ("our remote error", RemoteError("404"), None),
    ("our retry later", RetryLaterError("later"), None),
    ("restart", RestartFromZero(Notice.RESTARTED_SHORT_BODY), None),
    ("a bug", KeyError("x"), None),
    ("a stop", KeyboardInterrupt(), None),
]


@pytest.mark.parametrize(("name", "error", "kind"), TABLE, ids=[row[0] for row in TABLE])
def test_every_error_maps_to_one_kind(
    name: str, error: BaseException, kind: Failure | None
) -> None:
    assert classify(error) is kind
    assert is_transient(error) == (kind is not None and kind.transient)
    # The upload engine's ``except`` clause never catches a permanent failure.
    if isinstance(error, transient_errors()):
        assert is_transient(error)


def test_the_except_clause_form_keeps_every_plain_transient_class() -> None:
    # ``ssl.SSLError`` and ``aiohttp.ClientConnectionError`` would catch a certificate error.
    assert set(transient_errors()) == {
        TransientStatusError,
        ConnectionError,
        TimeoutError,
        aiohttp.ClientPayloadError,
    }


def test_the_lowest_speed_rule_is_a_link_failure() -> None:
    class Floor:
        def describe(self) -> str:
            return "below 1 KiB/s for 60 s"

    assert classify(TooSlowError(Floor())) is Failure.LINK  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "expected", "text"),
    [
        (aiohttp.InvalidURL("http://[::1/"), TransferError, "bad URL 'http://h/f'"),
        (TooManyRedirectsError("loop"), RemoteError, "too many redirects"),
        (OSError(errno.ENOSPC, "No space left"), NoSpaceError, "no space left"),
        (OSError(errno.EIO, "Input/output error"), TransferError, "cannot write the file"),
    ],
)
def test_permanent_failures_become_transfer_errors(
    error: BaseException, expected: type[TransferError], text: str
) -> None:
    final = permanent_error(error, url="http://h/f", dest=Path("/x/f"))
    assert type(final) is expected
    assert text in str(final)


def _verify_failed(message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    error.verify_message = message.removeprefix("certificate verify failed: ")
    return error


@pytest.mark.parametrize(
    "error",
    [
        _verify_failed("certificate verify failed: self-signed certificate"),
        aiohttp.ClientConnectorCertificateError(
            _KEY, _verify_failed("certificate verify failed: self-signed certificate")
        ),
    ],
    ids=["ssl", "aiohttp"],
)
def test_a_certificate_not_accepted_names_the_url_and_the_reason(error: BaseException) -> None:
    final = permanent_error(error, url="https://h/f", dest=Path("/x/f"))
    assert type(final) is ServerCertificateError
    assert str(final) == (
        "https://h/f: the server's certificate was not accepted: "
        "certificate verify failed: self-signed certificate"
    )


def test_a_certificate_error_without_a_verify_message_still_says_why() -> None:
    final = permanent_error(ssl.SSLCertVerificationError(1, "unknown CA"), url="https://h/")
    assert str(final) == "https://h/: the server's certificate was not accepted: unknown CA"


def test_a_network_errno_is_never_worded_as_a_disk_error() -> None:
    with pytest.raises(ValueError, match="not a permanent"):
        permanent_error(OSError(errno.EHOSTUNREACH, "No route to host"), url="http://h/f")


def test_a_transient_failure_is_not_worded_as_permanent() -> None:
    with pytest.raises(ValueError, match="not a permanent"):
        permanent_error(ConnectionResetError(), url="http://h/f")


def test_what_kept_failing_is_named_after_the_retries() -> None:
    status = gave_up_error("http://h/f", TransientStatusError(503, "Busy", None))
    assert isinstance(status, RemoteError)
    assert "kept answering HTTP 503 Busy" in str(status)
    refused = ConnectFailedError("h", 81, ConnectionRefusedError(111, "refused"))
    assert "cannot reach h:81" in str(gave_up_error("http://h/f", refused))
    aio = aiohttp.ClientConnectorError(_KEY, OSError(111, "refused"))
    assert "cannot reach 127.0.0.1:443" in str(gave_up_error("http://h/f", aio))
    other = gave_up_error("http://h/f", BodyEndedError("cut"))
    assert not isinstance(other, InconsistentServerError)
    assert "gave up after repeated errors (BodyEndedError: cut)" in str(other)


def test_a_retry_says_what_failed_in_words_without_the_url() -> None:
    refused = ConnectFailedError("h", 81, ConnectionRefusedError(111, "refused"))
    assert trouble(refused) == "cannot reach h:81 (connection refused)"
    # asyncio's own wording of the refusal gives way to the errno's
    aio = aiohttp.ClientConnectorError(_KEY, ConnectionRefusedError(111, "Connect call failed"))
    assert trouble(aio) == "cannot reach 127.0.0.1:443 (connection refused)"
    proxy = ConnectFailedError("p", 3128, ConnectionRefusedError(111, "x"), proxy=True)
    assert trouble(proxy) == "the proxy p:3128 refused the connection"
    down = ConnectFailedError("p", 3128, OSError(errno.EHOSTUNREACH, "x"), proxy=True)
    assert trouble(down) == "cannot reach the proxy p:3128 (no route to host)"
    name = ConnectFailedError(
        "no.invalid", 80, socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    )
    assert trouble(name) == "cannot reach no.invalid:80 (name or service not known)"
    busy = TransientStatusError(503, "Service Unavailable", None)
    assert trouble(busy) == "the server answered HTTP 503 Service Unavailable"
    assert trouble(TimeoutError("no data from the server")) == "timed out (no data from the server)"
    assert trouble(BodyEndedError()) == "the connection broke"
    assert trouble(BodyEndedError("cut short")) == "the connection broke (cut short)"
    reset = aiohttp.ClientOSError(104, "Connection reset by peer")
    assert trouble(reset) == "the connection broke (connection reset by peer)"
    # the word "failed" never appears while the job has not failed
    assert "failed" not in trouble(aiohttp.ClientConnectorError(_KEY, OSError(111, "failed")))


@pytest.mark.parametrize(
    ("code", "answered"),
    [(socket.EAI_NONAME, True), (socket.EAI_AGAIN, False), (socket.EAI_FAIL, False)],
)
def test_only_a_name_the_resolver_says_does_not_exist_is_no_such_name(
    code: int, answered: bool
) -> None:
    raw = ConnectFailedError("no.invalid", 80, socket.gaierror(code, "x"))
    assert no_such_name(raw) is answered
    aio = aiohttp.ClientConnectorDNSError(_KEY, socket.gaierror(code, "x"))
    assert no_such_name(aio) is answered
    assert not no_such_name(ConnectFailedError("h", 80, ConnectionRefusedError(111, "x")))
    assert not no_such_name(socket.gaierror(code, "x"))  # not a connect: not ours to judge

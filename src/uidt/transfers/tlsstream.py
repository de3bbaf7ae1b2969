"""A TLS client connection that uidt moves the bytes of itself: :class:`TlsStream`.

``ssl.SSLSocket`` lets OpenSSL read the socket, and OpenSSL (without read-ahead, which Python
cannot turn on) reads each record with two ``read`` calls, the 5-byte header, then the rest: a
1 GiB body is 130,000 ``read`` calls, and a ``poll`` per 16 KiB record to learn whether more is
waiting. Here OpenSSL works on two memory buffers
(``ssl.MemoryBIO``, through ``SSLContext.wrap_bio``) and this class moves the ciphertext between
them and a blocking TCP socket: one ``recv`` takes whatever the kernel holds (up to
:data:`RECEIVE_BYTES`, often dozens of records), and :meth:`TlsStream.recv_into` decrypts
record after record into the caller's buffer until it is full or nothing more has arrived, which
a non-blocking ``recv`` tells without a ``poll``.

The TLS itself is unchanged: the same context (:func:`uidt.transfers.tls.client_context`: the
certificate and the host name checked, TLS 1.2 at least, the default ciphers), the same
handshake and errors (``ssl.SSLCertVerificationError``, ``ssl.SSLError``). The socket is
blocking with ``SO_RCVTIMEO``/``SO_SNDTIMEO`` (set by the caller): a server silent for that
long raises :class:`TimeoutError`. Closing or shutting down the TCP socket from another thread
(:meth:`~uidt.transfers.rawhttp.RawResponse.abort`) ends a waiting read with the end of the
stream; the TLS object is never touched from there.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable

#: The most ciphertext taken from the socket per ``recv`` (the kernel hands over what it holds).
RECEIVE_BYTES = 256 * 1024


class TlsStream:
    """TLS over a connected, blocking TCP socket, driven through memory buffers.

    Args:
        sock: The connected TCP socket (blocking; its timeouts are ``SO_RCVTIMEO`` and
            ``SO_SNDTIMEO``). It belongs to the stream from now on.
        context: The client's TLS context.
        server_hostname: The name (or IP address) the certificate must be for.
    """

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, server_hostname: str) -> None:
        self.sock = sock
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(
            self._incoming, self._outgoing, server_hostname=server_hostname
        )
        self._inbox = memoryview(bytearray(RECEIVE_BYTES))
        self._failure: BaseException | None = None  # kept for the next read: see recv_into

    # -- the socket's side ------------------------------------------------------------------
    def fileno(self) -> int:
        """The TCP socket's descriptor."""
        return self.sock.fileno()

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        """Set an option of the TCP socket."""
        self.sock.setsockopt(level, option, value)

    def shutdown(self, how: int) -> None:
        """Shut the TCP socket down (no TLS ``close_notify``; safe from another thread)."""
        self.sock.shutdown(how)

    def close(self) -> None:
        """Close the TCP socket."""
        self.sock.close()

    def version(self) -> str | None:
        """The TLS version agreed on (``"TLSv1.3"``), ``None`` before the handshake."""
        return self._tls.version()

    # -- TLS --------------------------------------------------------------------------------
    def handshake(self) -> None:
        """Run the TLS handshake (blocking), the server's certificate checked.

        Raises:
            ssl.SSLCertVerificationError: The certificate was not accepted.
            ssl.SSLError: The handshake failed (an alert, the server hung up).
            TimeoutError: The server went quiet for the read timeout.
            ConnectionError: The connection broke.
        """
        while True:
            try:
                self._tls.do_handshake()
            except ssl.SSLWantReadError:
                self._send_pending()
                self._receive(wait=True)
            except ssl.SSLError:
                with contextlib.suppress(OSError):  # the alert saying why, as on a socket
                    self._send_pending()
                raise
            else:
                self._send_pending()
                return

    def sendall(self, data: bytes) -> None:
        """Encrypt ``data`` and send all of it (blocking).

        Raises:
            TimeoutError: The server took nothing for the send timeout.
            ConnectionError: The connection broke.
        """
        view = memoryview(data)
        while view:
            view = view[self._tls.write(view) :]
        self._send_pending()

    def recv(self, size: int) -> bytes:
        """Up to ``size`` decrypted bytes (blocking until some come); ``b""`` at the end."""
        buffer = bytearray(size)
        got = self.recv_into(memoryview(buffer))
        return bytes(buffer[:got])

    def recv_into(self, buffer: memoryview) -> int:
        """Wait for the first decrypted byte, then fill ``buffer`` with every record that has
        arrived, without waiting again; the number of bytes (0: the stream ended).

        A record split across two receives stays in the memory buffer until its rest comes; a
        record larger than the room left stays decrypted in OpenSSL for the next call. When the
        connection fails after some bytes were decrypted in this call, those bytes are
        returned and the failure is raised by the next call, so a caller keeps what came.

        Raises:
            TimeoutError: Nothing came for the read timeout.
            ssl.SSLError: A record failed (its integrity check, a protocol error).
            ConnectionError: The connection broke.
        """
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        size = len(buffer)
        done = 0
        # (typeshed names only bytearray; any writable buffer is taken)
        read: Callable[[int, memoryview], int] = self._tls.read  # type: ignore[assignment]
        while done < size:
            try:
                got = read(size - done, buffer[done:])
            except ssl.SSLWantReadError:
                got = -1  # the next record has not all come yet
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                break  # the TCP stream ended (the caller counts whether the body is whole)
            except ssl.SSLError as exc:
                return self._failed(exc, done)
            if got > 0:
                done += got
                continue
            if got == 0:  # the server's close_notify
                break
            try:
                if not self._receive(wait=not done):
                    break  # nothing more has come: hand over what has
            except OSError as exc:
                return self._failed(exc, done)
        return done

    def _failed(self, exc: OSError, done: int) -> int:
        """Raise ``exc`` now if nothing was decrypted, else keep it for the next read."""
        if not done:
            raise exc
        self._failure = exc
        return done

    def _receive(self, *, wait: bool) -> bool:
        """Move what the socket holds into OpenSSL's buffer; ``False`` when nothing had come
        and ``wait`` is off. The end of the TCP stream is handed on as such."""
        if self._outgoing.pending:  # a reply OpenSSL owes the server (a TLS 1.3 key update)
            self._send_pending()
        try:
            got = self.sock.recv_into(
                self._inbox, RECEIVE_BYTES, 0 if wait else socket.MSG_DONTWAIT
            )
        except BlockingIOError as exc:
            if not wait:
                return False
            raise TimeoutError("no data from the server") from exc  # SO_RCVTIMEO ran out
        if got:
            self._incoming.write(self._inbox[:got])
        else:
            self._incoming.write_eof()
        return True

    def _send_pending(self) -> None:
        data = self._outgoing.read()
        if data:
            try:
                self.sock.sendall(data)
            except BlockingIOError as exc:  # SO_SNDTIMEO ran out
                raise TimeoutError("the server took no bytes") from exc

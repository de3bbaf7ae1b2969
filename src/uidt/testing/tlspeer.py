"""A TLS server end whose ciphertext a test sends by hand: :class:`ServerEnd`.

For tests of a TLS reader at the level of records: the server is an ``ssl.SSLObject`` over
memory buffers, so :meth:`ServerEnd.record` gives the ciphertext of some plaintext (one TLS record
per 16 KiB) without sending it, and the test decides how much of it reaches the reader's socket
and when (a record cut in two, a header alone, a forged byte, the end of the stream).
:func:`connected` makes the pair: a :class:`~uidt.transfers.tlsstream.TlsStream` that has
finished its handshake with a :class:`ServerEnd`.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from dataclasses import dataclass

from uidt.transfers.tlsstream import TlsStream

#: The most plaintext one TLS record carries.
RECORD_BYTES = 16 * 1024


@dataclass
class ServerEnd:
    """The server's side of a connection: TLS through memory buffers, sent by hand."""

    sock: socket.socket
    tls: ssl.SSLObject
    incoming: ssl.MemoryBIO
    outgoing: ssl.MemoryBIO

    @classmethod
    def over(cls, sock: socket.socket, context: ssl.SSLContext) -> ServerEnd:
        """The server end of ``sock`` with the server context ``context``."""
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_side=True)
        return cls(sock, tls, incoming, outgoing)

    def record(self, data: bytes) -> bytes:
        """The ciphertext of ``data`` (one record per 16 KiB), not sent yet."""
        view = memoryview(data)
        while view:
            view = view[self.tls.write(view[:RECORD_BYTES]) :]
        return self.outgoing.read()

    def send(self, ciphertext: bytes) -> None:
        """Put ``ciphertext`` on the wire."""
        self.sock.sendall(ciphertext)

    def handshake(self) -> None:
        """The server's half of the handshake (blocking), its session tickets sent too."""
        while True:
            try:
                self.tls.do_handshake()
            except ssl.SSLWantReadError:
                self.send(self.outgoing.read())
                self.incoming.write(self.sock.recv(65536))
            else:
                self.send(self.outgoing.read())
                return


def connected(
    client: socket.socket,
    server: socket.socket,
    client_context: ssl.SSLContext,
    server_context: ssl.SSLContext,
    *,
    timeout_s: int = 5,
) -> tuple[TlsStream, ServerEnd]:
    """A client stream over ``client`` that finished its handshake with a server end over
    ``server`` (two connected sockets). Either side waits ``timeout_s`` at most for a byte,
    so a reader waiting for bytes that never come fails instead of hanging."""
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", timeout_s, 0))
    server.settimeout(timeout_s)
    end = ServerEnd.over(server, server_context)
    stream = TlsStream(client, client_context, "127.0.0.1")
    shaking = threading.Thread(target=end.handshake, name="uidt-test-tls-server")
    shaking.start()
    try:
        stream.handshake()
    finally:
        shaking.join(2 * timeout_s)
    return stream, end

"""Serving the Task Manager page inside the daemon's own asyncio loop.

uvicorn's ``Server.serve()`` installs its own SIGINT/SIGTERM handlers with ``signal.signal`` for
as long as it runs (and re-raises captured signals when it stops). The daemon owns those signals
(``loop.add_signal_handler``), so :class:`_EmbeddedServer` replaces ``capture_signals`` with a
context that does nothing: stopping is :meth:`WebServer.close`'s job alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Iterator

import uvicorn

from uidt.connlimit import connection_cap
from uidt.errors import UidtError
from uidt.web.app import create_web_app
from uidt.web.auth import new_token
from uidt.web.feed import SnapshotFeed
from uidt.web.guard import guarded_protocol
from uidt.web.protocol import TaskManagerRuntime

log = logging.getLogger("uidt.web")

#: The most connections asyncio accepts in one pass of its loop (its ``backlog``).
ACCEPT_BACKLOG = 64
#: Connections the kernel queues until they are accepted (a burst waits there, not in SYN
#: retries of a full queue).
LISTEN_QUEUE = 1024
#: How long :meth:`WebServer.close` waits for open connections before cutting them.
SHUTDOWN_TIMEOUT_S = 2


class WebBindError(UidtError, ValueError):
    """The Task Manager may only listen on a loopback address."""


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host and says when it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()


def require_loopback(host: str) -> None:
    """Raise :class:`WebBindError` unless ``host`` is a loopback address or ``localhost``."""
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise WebBindError(f"the Task Manager serves loopback only, not {host!r}") from None
    if not address.is_loopback:
        raise WebBindError(f"the Task Manager serves loopback only, not {host}")


class WebServer:
    """A running Task Manager page. Create it with :func:`serve_web`."""

    def __init__(
        self,
        runtime: TaskManagerRuntime,
        server: _EmbeddedServer,
        task: asyncio.Task[None],
        url: str,
        feed: SnapshotFeed,
        new_login_code: Callable[[], str],
    ) -> None:
        self._runtime = runtime
        self._server = server
        self._task = task
        self._feed = feed
        self._new_login_code = new_login_code
        #: The base URL, e.g. ``http://127.0.0.1:8765``.
        self.url = url

    def login_url(self) -> str:
        """A fresh one-time login URL (what ``uidt ui`` prints)."""
        return f"{self.url}/login?token={self._new_login_code()}"

    async def close(self) -> None:
        """Stop serving: end the event streams, close connections, detach from the runtime."""
        if self._runtime.web_login == self.login_url:
            self._runtime.web_login = lambda: None
        with contextlib.suppress(ValueError):
            self._runtime.notification_sinks.remove(self._feed.sink)
        self._feed.close()
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=SHUTDOWN_TIMEOUT_S + 1)
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def serve_web(
    runtime: TaskManagerRuntime,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    token: str | None = None,
    header_timeout: float = 10.0,
    idle_timeout: float = 5.0,
    max_connections: int = 128,
) -> WebServer:
    """Serve the Task Manager page on ``host:port`` inside the running loop.

    Sets ``runtime.web_login`` so that ``uidt ui`` gets a fresh one-time login URL.

    Args:
        runtime: the daemon's runtime.
        host: a loopback address (``127.0.0.1``, ``::1``) or ``localhost``.
        port: the port; ``0`` picks a free one.
        token: the per-daemon secret; a random one when ``None``.
        header_timeout: seconds a connection has to send a request head (:mod:`uidt.web.guard`).
        idle_timeout: seconds a keep-alive connection may idle.
        max_connections: most connections held (lowered to fit the open-file limit).

    Raises:
        WebBindError: ``host`` is not a loopback address.
        OSError: the port cannot be bound.
    """
    require_loopback(host)
    app = create_web_app(runtime, token or new_token())
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(LISTEN_QUEUE)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=SHUTDOWN_TIMEOUT_S,
        server_header=False,
        proxy_headers=False,
        http=guarded_protocol(connection_cap(max_connections), header_timeout),
        # asyncio accepts up to `backlog` connections per loop pass before any of them is
        # admitted or evicted: uvicorn's 2,048 let a burst exhaust the open-file limit.
        backlog=ACCEPT_BACKLOG,
        timeout_keep_alive=max(1, round(idle_timeout)),
    )
    server = _EmbeddedServer(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    listening = asyncio.ensure_future(server.listening.wait())
    done, _ = await asyncio.wait({task, listening}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        listening.cancel()
        sock.close()
        task.result()  # raises what made the server fail
        raise WebBindError("the Task Manager server stopped while starting")
    sock.listen(LISTEN_QUEUE)  # after asyncio's listen(backlog): a longer queue in the kernel
    display = f"[{host.strip('[]')}]" if family == socket.AF_INET6 else host
    web = WebServer(
        runtime, server, task, f"http://{display}:{bound_port}", app.state.feed,
        app.state.auth.new_login_code,
    )  # fmt: skip
    runtime.web_login = web.login_url
    log.info("Task Manager at %s", web.url)
    return web

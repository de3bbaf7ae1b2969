"""The control API's HTTP/1.1 server, over a real Unix socket."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from uidt.daemon.httpd import (
    Handler,
    HTTPError,
    HTTPServer,
    Middleware,
    Request,
    Response,
    Router,
    json_response,
)


async def echo(request: Request) -> Response:
    return json_response(
        {
            "method": request.method,
            "match": request.match_info,
            "query": request.query,
            "body": request.body.decode(),
            "context": request.context,
        }
    )


async def boom(request: Request) -> Response:
    raise RuntimeError("bug")


def _router() -> Router:
    router = Router()
    router.add("GET", "/v1/items/{name}", echo)
    router.add("POST", "/v1/items/{name}", echo)
    router.add("GET", "/v1/boom", boom)
    return router


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[HTTPServer, Path]]:
    path = tmp_path / "s.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()
    listener.setblocking(False)
    served = HTTPServer(_router(), context="ctx", max_body=100)
    await served.start(listener)
    try:
        yield served, path
    finally:
        await served.close()


async def _exchange(path: Path, raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Send ``raw`` (one or more requests) and read answers until the server closes."""
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    answers = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        length = int(headers["content-length"])
        answers.append((int(lines[0].split()[1]), headers, rest[:length]))
        data = rest[length:]
    return answers


def _get(target: str, extra: str = "") -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()


async def test_route_parameters_query_and_context(server: tuple[HTTPServer, Path]) -> None:
    _, path = server
    [(status, headers, body)] = await _exchange(
        path, _get("/v1/items/a%2Fb?x=1&x=2&y=", "Connection: close\r\n")
    )
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert headers["connection"] == "close"
    assert json.loads(body) == {
        "method": "GET",
        "match": {"name": "a/b"},
        "query": {"x": "1", "y": ""},
        "body": "",
        "context": "ctx",
    }


async def test_keep_alive_answers_pipelined_requests_in_order(
    server: tuple[HTTPServer, Path],
) -> None:
    _, path = server
    post = b"POST /v1/items/p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
    answers = await _exchange(
        path, _get("/v1/items/one") + post + _get("/v1/items/two", "Connection: close\r\n")
    )
    assert [json.loads(body)["match"]["name"] for _, _, body in answers] == ["one", "p", "two"]
    assert json.loads(answers[1][2])["body"] == "hello"
    assert answers[0][1]["connection"] == "keep-alive"


async def test_a_chunked_body(server: tuple[HTTPServer, Path]) -> None:
    _, path = server
    raw = (
        b"POST /v1/items/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
    )
    [(status, _, body)] = await _exchange(path, raw)
    assert status == 200
    assert json.loads(body)["body"] == "abcde"


async def test_head_answers_a_get_route_without_a_body(server: tuple[HTTPServer, Path]) -> None:
    _, path = server
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(b"HEAD /v1/items/h HTTP/1.1\r\nConnection: close\r\n\r\n")
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert rest == b""


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (_get("/nowhere"), 404, "Not Found"),
        (b"DELETE /v1/items/x HTTP/1.1\r\n\r\n", 405, "Method Not Allowed"),
        (b"BREW /v1/items/x HTTP/1.1\r\n\r\n", 400, "unsupported method"),
        (b"complete nonsense\r\n\r\n", 400, "bad request line"),
        (b"GET /v1/items/x HTTP/1.1\r\nno colon here\r\n\r\n", 400, "bad header line"),
        (
            b"POST /v1/items/x HTTP/1.1\r\nContent-Length: 200\r\n\r\n" + b"x" * 200,
            413,
            "too large",
        ),
        (b"POST /v1/items/x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "Content-Length"),
        (b"POST /v1/items/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "chunk"),
        (_get("/v1/boom"), 500, "internal error"),
    ],
)
async def test_protocol_errors_get_a_json_message(
    server: tuple[HTTPServer, Path], raw: bytes, status: int, message: str
) -> None:
    _, path = server
    answers = await _exchange(path, raw + _get("/v1/items/after", "Connection: close\r\n"))
    assert answers[0][0] == status
    assert message in json.loads(answers[0][2])["error"]["message"]


async def test_middlewares_wrap_routed_and_unrouted_requests_outermost_first(
    tmp_path: Path,
) -> None:
    seen: list[str] = []

    def named(name: str) -> Middleware:
        async def middleware(request: Request, handler: Handler) -> Response:
            seen.append(name)
            if request.path == "/v1/items/refused":
                return json_response({"refused": name}, 403)
            return await handler(request)

        return middleware

    path = tmp_path / "m.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()
    listener.setblocking(False)
    served = HTTPServer(_router(), middlewares=(named("outer"), named("inner")))
    await served.start(listener)
    try:
        answers = await _exchange(
            path, _get("/v1/items/refused") + _get("/nowhere", "Connection: close\r\n")
        )
    finally:
        await served.close()
    assert answers[0][0] == 403
    assert json.loads(answers[0][2]) == {"refused": "outer"}
    assert answers[1][0] == 404
    assert seen == ["outer", "outer", "inner"]


async def test_close_ends_idle_keep_alive_connections(server: tuple[HTTPServer, Path]) -> None:
    served, path = server
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(_get("/v1/items/k"))
    await writer.drain()
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    await asyncio.wait_for(served.close(), 10)
    rest = await asyncio.wait_for(reader.read(), 10)  # the body, then the end
    assert not rest.startswith(b"HTTP")
    writer.close()


def test_http_error_carries_its_status() -> None:
    error = HTTPError(404, "Not Found")
    assert (error.status, error.message, str(error)) == (404, "Not Found", "Not Found")

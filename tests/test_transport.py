"""transport.GatheringTransport: a response's head leaves with the write after it, in one call and in order,
and nothing is held past the end of the event loop's turn; close() sends what is kept before closing,
abort() drops it; a real server answers through it."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from napkg.endpoint.transport import GatheringHttpProtocol, GatheringTransport


class Recording:
    """A transport that records its calls."""

    def __init__(self):
        self.calls: list = []
        self.closing = False

    def write(self, data):
        self.calls.append(("write", data))

    def close(self):
        self.calls.append(("close",))
        self.closing = True

    def abort(self):
        self.calls.append(("abort",))
        self.closing = True

    def is_closing(self):
        return self.closing

    def get_write_buffer_size(self):
        return 7

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 5)}.get(name, default)


def run(steps):
    async def main():
        transport = Recording()
        gathering = GatheringTransport(transport, asyncio.get_running_loop())
        await steps(gathering)
        await asyncio.sleep(0)  # one more turn: what is kept is sent
        return transport.calls

    return asyncio.run(main())


def test_a_head_leaves_with_the_write_after_it_and_nothing_waits_longer():
    async def steps(t):
        t.write(b"HTTP/1.1 200 OK\r\n\r\n")
        assert t.get_write_buffer_size() == 7 + 19  # the real transport's and the kept head
        t.write(bytearray(b"body"))  # goes at once, with the head
        assert t._transport.calls == [("write", b"HTTP/1.1 200 OK\r\n\r\nbody")]
        t.writelines([b"-", b"more"])
        await asyncio.sleep(0)  # "more" had nothing after it in its turn: it went at the end of the turn
        t.write(b"next turn")

    assert run(steps) == [("write", b"HTTP/1.1 200 OK\r\n\r\nbody"), ("write", b"-more"), ("write", b"next turn")]


def test_a_long_write_is_not_copied_to_join_the_head():
    big = b"x" * GatheringTransport.JOIN_LIMIT

    async def steps(t):
        t.write(b"head")
        t.write(big)

    assert run(steps) == [("write", b"head"), ("write", big)]


def test_close_sends_what_is_kept_first_and_abort_drops_it():
    async def closing(t):
        t.write(b"last words")
        t.close()

    assert run(closing) == [("write", b"last words"), ("close",)]

    async def aborting(t):
        t.write(b"never sent")
        t.abort()

    assert run(aborting) == [("abort",)]


def test_nothing_is_written_to_a_closed_transport_and_the_rest_is_passed_on():
    async def steps(t):
        t.write(b"")  # nothing to send: no turn is asked for
        t.write(b"late")
        t._transport.closing = True
        assert t.get_extra_info("peername") == ("127.0.0.1", 5)

    assert run(steps) == []


@pytest.mark.parametrize("size", [10, 300_000])
def test_a_server_answers_through_it(size):
    """uvicorn with the protocol, a small and a large answer, HEAD and keep-alive."""
    import uvicorn

    body = b"x" * size

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(size).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=GatheringHttpProtocol, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)

    async def main():
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            answers = [await client.get("/") for _ in range(3)]  # one connection, kept alive
            head = await client.head("/")
        server.should_exit = True
        await task
        return answers, head

    answers, head = asyncio.run(main())
    assert all(a.status_code == 200 and a.content == body for a in answers)
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(size)
